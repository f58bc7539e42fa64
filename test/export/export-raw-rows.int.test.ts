import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeGenerated } from '../../src/generate/index.js';
import { loadPaths } from '../../src/store/index.js';
import { runExport, startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp.js';

// The byte paths (the _typeFilter pre-check, _elements on stored bytes) against the parsed path, on
// the same data: two servers load the same files, one with `rawRows: false`, and every export must
// give the same lines, byte for byte once meta.lastUpdated (the load time) and the
// server's base URL (in resolved Attachment URLs) are set aside.

const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category';

/** Rows the byte paths must decline or treat with care, as the loader stores them (not re-serialized). */
function edgeLines(patientId: string): string[] {
  const subject = `"subject":{"reference":"Patient/${patientId}"}`;
  return [
    // Whitespace inside a kept element: the byte projection must decline it.
    `{"resourceType":"Observation","id":"edge-ws","status":"final","category":[{"coding":[{"system":"${LAB}","code":"laboratory"}]}],"code": {"text":"ws"},${subject}}`,
    // The code behind a \\u escape and an escaped slash: the pre-check cannot rule it out.
    `{"resourceType":"Observation","id":"edge-esc","status":"final","category":[{"coding":[{"system":"http:\\/\\/terminology.hl7.org\\/CodeSystem\\/observation-category","code":"l\\u0061boratory"}]}],"code":{"text":"esc"},"subject":{"reference":"Patient\\/${patientId}"}}`,
    // A number JSON.stringify writes otherwise (1.5) in a kept element.
    `{"resourceType":"Observation","id":"edge-num","status":"final","code":{"text":"num"},${subject},"valueQuantity":{"value":1.50}}`,
    // Not laboratory, though the word is in its text.
    `{"resourceType":"Observation","id":"edge-text","status":"final","category":[{"text":"laboratory"}],"code":{"text":"laboratory"},${subject}}`,
    // A relative Attachment.url, resolved against the server's base URL on output.
    `{"resourceType":"DocumentReference","id":"edge-doc","status":"current","content":[{"attachment":{"url":"Binary/edge"}}],${subject}}`,
  ];
}

const EXPORTS = [
  '/$export?_type=Observation&_typeFilter=Observation%3Fcategory%3Dlaboratory',
  '/$export?_type=Observation,Condition&_typeFilter=Observation%3Fcode%3Dhttp://loinc.org%7C8867-4,Observation%3Fstatus%3Dfinal%26category%3Dlaboratory,Condition%3Fclinical-status%3Dactive',
  '/$export?_type=Observation&_typeFilter=Observation%3Fcategory:not%3Dlaboratory',
  '/$export?_elements=status,code,subject',
  '/$export?_type=Observation,DocumentReference,Patient&_elements=Observation.valueQuantity,status,Patient.name',
  '/$export?_type=Observation,DocumentReference&_typeFilter=Observation%3Fcategory%3Dlaboratory&_elements=status',
  '/Patient/$export?_type=Observation,Encounter,Practitioner&_typeFilter=Observation%3Fcategory%3Dlaboratory,Encounter%3Fclass%3DAMB',
];

/** Each output line keyed by type and id, with meta.lastUpdated and the server's URL blanked. */
async function exportLines(srv: TestServer, path: string): Promise<Map<string, string>> {
  const manifest = await runExport(`${srv.baseUrl}${path}`);
  assert.deepEqual(manifest.error, [], path);
  const lines = new Map<string, string>();
  for (const entry of manifest.output) {
    const text = await (await fetch(entry.url)).text();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const { id } = JSON.parse(line) as { id: string };
      const same = line.replace(/"lastUpdated":"[^"]*"/, '"lastUpdated":"-"').replaceAll(srv.baseUrl, 'BASE');
      lines.set(`${entry.type}/${id}`, same);
    }
  }
  return lines;
}

for (const backend of backends()) {
  describe(
    `on ${backend.name}: exports on stored bytes equal the parsed path`,
    { skip: backend.skip },
    () => {
      const suite = suiteScope(after);
      let fast: TestServer;
      let parsed: TestServer;

      before(async () => {
        const dir = tempDir(suite);
        await writeGenerated({ patients: 12, seed: 3, outDir: dir });
        const patients = readFileSync(join(dir, 'Patient.ndjson'), 'utf8');
        const patientId = (JSON.parse(patients.split('\n')[0]!) as { id: string }).id;
        writeFileSync(join(dir, 'Edge.ndjson'), edgeLines(patientId).join('\n') + '\n');
        fast = await startTestServer(suite, { backend });
        parsed = await startTestServer(suite, { backend, export: { rawRows: false } });
        for (const srv of [fast, parsed]) {
          const report = await loadPaths(srv.runtime.store, [dir]);
          assert.equal(report.rejected, 0);
        }
      });

      for (const path of EXPORTS) {
        test(decodeURIComponent(path), async () => {
          const expected = await exportLines(parsed, path);
          const actual = await exportLines(fast, path);
          assert.ok(expected.size > 0, 'the export is not empty');
          assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
          for (const [key, line] of expected) assert.equal(actual.get(key), line, key);
        });
      }

      test('the edge rows are where the filters put them', async () => {
        const lab = await exportLines(fast, EXPORTS[0]!);
        assert.ok(lab.has('Observation/edge-ws') && lab.has('Observation/edge-esc'));
        assert.ok(!lab.has('Observation/edge-text') && !lab.has('Observation/edge-num'));
        const projected = await exportLines(fast, EXPORTS[4]!);
        assert.match(projected.get('Observation/edge-num') ?? '', /"valueQuantity":\{"value":1\.5\}/);
        assert.match(projected.get('DocumentReference/edge-doc') ?? '', /"url":"BASE\/Binary\/edge"/);
      });
    },
  );
}
