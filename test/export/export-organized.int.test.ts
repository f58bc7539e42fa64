import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeGroup, makeObservation, makePatient } from '../helpers/builders.js';
import { runExport, startTestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

interface Line {
  resourceType: string;
  id?: string;
  parameter?: { name: string; valueReference: { reference: string } }[];
  subject?: { reference: string };
}

async function fileLines(url: string): Promise<Line[]> {
  const text = await (await fetch(url)).text();
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);
}

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    describe('organizeOutputBy=Patient', () => {
      test('every block starts with a header, then the patient, then its compartment', async (t) => {
        const srv = await startTestServer(t, { backend });
        await srv.runtime.store.ingest([
          makePatient('p1'),
          makePatient('p2'),
          makePatient('p3'),
          ...Array.from({ length: 6 }, (_, i) => makeObservation(`o${i}`, `p${(i % 2) + 1}`)),
          makeGroup('g', ['Patient/p1', 'Patient/p2']),
        ]);
        const m = (await runExport(`${srv.baseUrl}/Group/g/$export?organizeOutputBy=Patient`)) as unknown as {
          outputOrganizedBy: string;
          output: { url: string; type?: string; count: number }[];
        };
        assert.equal(m.outputOrganizedBy, 'Patient', JSON.stringify(m));
        assert.ok(m.output.length >= 1, JSON.stringify(m));
        assert.ok(m.output.length >= 1);
        const seenPatients: string[] = [];
        let resources = 0;
        let clinical = 0;
        for (const entry of m.output) {
          assert.equal(entry.type, undefined);
          const lines = await fileLines(entry.url);
          resources += lines.filter((l) => l.resourceType !== 'Parameters').length;
          clinical += lines.filter(
            (l) => l.resourceType === 'Patient' || l.resourceType === 'Observation',
          ).length;
          let current = '';
          lines.forEach((line, i) => {
            if (line.resourceType === 'Parameters') {
              current = line.parameter![0]!.valueReference.reference;
              seenPatients.push(current);
              assert.equal(`Patient/${lines[i + 1]!.id}`, current, 'the patient follows its header');
            } else if (line.resourceType === 'Observation') {
              assert.equal(line.subject!.reference, current);
            }
          });
          assert.equal(lines[0]!.resourceType, 'Parameters');
        }
        assert.deepEqual(seenPatients.sort(), ['Patient/p1', 'Patient/p2']);
        assert.equal(clinical, 2 + 6);
        // Group is in the R4 compartment, but other cohorts are exported only when _type names Group.
        assert.equal(resources, 2 + 6);
        assert.equal(
          m.output.reduce((n, o) => n + o.count, 0),
          resources,
        );
      });

      test('a block larger than a file continues in the next file with its header repeated', async (t) => {
        const srv = await startTestServer(t, { backend, export: { fileMaxBytes: 1500 } });
        await srv.runtime.store.ingest([
          makePatient('big'),
          ...Array.from({ length: 30 }, (_, i) => makeObservation(`o${String(i).padStart(2, '0')}`, 'big')),
        ]);
        const m = (await runExport(`${srv.baseUrl}/Patient/$export?organizeOutputBy=Patient`)) as unknown as {
          output: { url: string; continuesInFile?: string }[];
        };
        assert.ok(m.output.length > 1);
        const header = (await fileLines(m.output[0]!.url))[0];
        for (let i = 0; i < m.output.length - 1; i++) {
          assert.equal(m.output[i]!.continuesInFile, m.output[i + 1]!.url);
          const next = await fileLines(m.output[i + 1]!.url);
          assert.deepEqual(next[0], header);
        }
        assert.equal(m.output[m.output.length - 1]!.continuesInFile, undefined);
      });
    });
  });
}
