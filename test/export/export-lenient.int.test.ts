import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeGroup, makeObservation, makePatient } from '../helpers/builders.js';
import { readLines, runExport, startTestServer, suiteScope } from '../helpers/server.js';
import type { TestManifest, TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

// Prefer: handling=lenient on what cannot be honoured: the export is accepted, narrowed rather than
// widened, and the error file says what was left out (docs/export-parameters.md).

const LENIENT = { prefer: 'respond-async, handling=lenient' };

function patientBody(ids: string[]): string {
  return JSON.stringify({
    resourceType: 'Parameters',
    parameter: ids.map((id) => ({ name: 'patient', valueReference: { reference: `Patient/${id}` } })),
  });
}

function post(ids: string[], prefer: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', ...prefer },
    body: patientBody(ids),
  };
}

/** `Type/id` of every resource in the output files. */
async function outputRefs(manifest: TestManifest): Promise<string[]> {
  const lines = await readLines(manifest.output);
  return lines.map((r) => `${r.resourceType as string}/${r.id as string}`).sort();
}

async function errorText(manifest: TestManifest): Promise<string> {
  const outcomes = await readLines(manifest.error);
  assert.ok(outcomes.length > 0, 'the error file holds the warnings');
  for (const o of outcomes) assert.equal(o.resourceType, 'OperationOutcome');
  return JSON.stringify(outcomes);
}

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    describe('$export under Prefer: handling=lenient', () => {
      let srv: TestServer;
      const suite = suiteScope(after);

      before(async () => {
        srv = await startTestServer(suite, { backend });
        await srv.runtime.store.ingest([
          makePatient('p1', { gender: 'male' }),
          makePatient('p2', { gender: 'female' }),
          makePatient('p3', { gender: 'male' }),
          makeObservation('o1', 'p1'),
          makeObservation('o2', 'p2', { status: 'amended' }),
          makeObservation('o3', 'p3'),
          makeGroup('g', ['Patient/p1', 'Patient/p2']),
        ]);
      });

      test('refuses an unsupported _typeFilter parameter with 400 without lenient handling', async () => {
        for (const filter of ['Patient?status=active', 'Observation?foo=bar']) {
          const res = await fetch(`${srv.baseUrl}/$export?_typeFilter=${encodeURIComponent(filter)}`, {
            headers: { prefer: 'respond-async' },
          });
          assert.equal(res.status, 400, filter);
          const body = (await res.json()) as { issue: { code: string }[] };
          assert.equal(body.issue[0]?.code, 'not-supported');
        }
      });

      test('leaves out a type whose only _typeFilter is unsupported, and names the filter', async () => {
        const filter = encodeURIComponent('Patient?status=active');
        const manifest = await runExport(
          `${srv.baseUrl}/$export?_type=Patient,Observation&_typeFilter=${filter}`,
          {
            headers: LENIENT,
          },
        );
        assert.deepEqual(
          manifest.output.map((o) => o.type),
          ['Observation'],
        );
        assert.deepEqual(await outputRefs(manifest), ['Observation/o1', 'Observation/o2', 'Observation/o3']);
        const text = await errorText(manifest);
        assert.match(text, /Patient\?status=active/);
        assert.match(text, /left out of the export/);
      });

      test('applies the other _typeFilter queries of a type when one is unsupported', async () => {
        const filters = ['Observation?status=final', 'Observation?foo=bar']
          .map((f) => `_typeFilter=${encodeURIComponent(f)}`)
          .join('&');
        const manifest = await runExport(`${srv.baseUrl}/$export?_type=Observation&${filters}`, {
          headers: LENIENT,
        });
        assert.deepEqual(await outputRefs(manifest), ['Observation/o1', 'Observation/o3']);
        assert.match(await errorText(manifest), /Observation\?foo=bar/);
      });

      test('refuses an unknown or non-member patient with 400 without lenient handling', async () => {
        const unknown = await fetch(
          `${srv.baseUrl}/Patient/$export`,
          post(['p1', 'nobody'], { prefer: 'respond-async' }),
        );
        assert.equal(unknown.status, 400);
        await unknown.arrayBuffer();
        const outsider = await fetch(
          `${srv.baseUrl}/Group/g/$export`,
          post(['p1', 'p3'], { prefer: 'respond-async' }),
        );
        assert.equal(outsider.status, 400);
        await outsider.arrayBuffer();
      });

      test('leaves out an unknown patient at patient level and exports the others', async () => {
        const manifest = await runExport(`${srv.baseUrl}/Patient/$export`, post(['p2', 'nobody'], LENIENT));
        assert.deepEqual(await outputRefs(manifest), ['Observation/o2', 'Patient/p2']);
        assert.match(await errorText(manifest), /Patient\/nobody does not exist/);
        const [outcome] = await readLines(manifest.error);
        assert.deepEqual((outcome as { issue: unknown[] }).issue[0], {
          severity: 'warning',
          code: 'not-found',
          diagnostics: 'patient Patient/nobody does not exist; left out (Prefer: handling=lenient)',
          expression: ['patient'],
        });
      });

      test('leaves out a non-member and an unknown patient at group level and exports the members', async () => {
        const manifest = await runExport(
          `${srv.baseUrl}/Group/g/$export`,
          post(['p1', 'p3', 'nobody'], LENIENT),
        );
        assert.deepEqual(await outputRefs(manifest), ['Observation/o1', 'Patient/p1']);
        const text = await errorText(manifest);
        assert.match(text, /Patient\/p3 is not a member of Group\/g/);
        assert.match(text, /Patient\/nobody is not a member of Group\/g/);
      });

      test('exports no patient data when no listed patient remains', async () => {
        const patientLevel = await runExport(
          `${srv.baseUrl}/Patient/$export`,
          post(['nobody', 'nobody-else'], LENIENT),
        );
        assert.deepEqual(await outputRefs(patientLevel), []);
        assert.match(await errorText(patientLevel), /no listed patient remains/);
        const groupLevel = await runExport(`${srv.baseUrl}/Group/g/$export`, post(['p3'], LENIENT));
        assert.deepEqual(await outputRefs(groupLevel), []);
        assert.match(await errorText(groupLevel), /no listed patient remains/);
      });
    });
  });
}
