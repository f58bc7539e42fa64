import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FhirResource } from '../../src/fhir/index.js';
import { makeGroup, makeObservation, makePatient } from '../helpers/builders.js';
import { readLines, runExport, startTestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

function provenance(id: string, targets: string[], recorded: string): FhirResource {
  return {
    resourceType: 'Provenance',
    id,
    target: targets.map((reference) => ({ reference })),
    recorded,
    agent: [{ who: { reference: 'Practitioner/dr' } }],
  };
}

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    test('Provenance follows its targets at patient level, and includeAssociatedData chooses which', async (t) => {
      const srv = await startTestServer(t, { backend });
      await srv.runtime.store.ingest([
        makePatient('p1'),
        makePatient('p2'),
        makeObservation('o1', 'p1'),
        makeObservation('o2', 'p2'),
        makeObservation('o3', 'p1'),
        provenance('prov1', ['Observation/o1'], '2020-01-01T00:00:00Z'),
        provenance('prov2', ['Observation/o1'], '2021-01-01T00:00:00Z'),
        provenance('prov3', ['Observation/o2'], '2022-01-01T00:00:00Z'),
        provenance('prov4', ['Observation/o3', 'Observation/o2'], '2019-01-01T00:00:00Z'),
        makeGroup('g', ['Patient/p1']),
      ]);
      const provIds = async (url: string): Promise<string[]> => {
        const m = await runExport(url);
        const lines = await readLines(m.output.filter((o) => o.type === 'Provenance'));
        return lines.map((r) => String(r.id)).sort();
      };
      assert.deepEqual(await provIds(`${srv.baseUrl}/Group/g/$export`), ['prov1', 'prov2', 'prov4']);
      assert.deepEqual(
        await provIds(`${srv.baseUrl}/Group/g/$export?includeAssociatedData=LatestProvenanceResources`),
        ['prov2', 'prov4'],
      );
      assert.deepEqual(
        await provIds(
          `${srv.baseUrl}/Group/g/$export?includeAssociatedData=LatestProvenanceResources,RelevantProvenanceResources`,
        ),
        ['prov1', 'prov2', 'prov4'],
      );
      assert.deepEqual(await provIds(`${srv.baseUrl}/Group/g/$export?_type=Observation`), []);
      assert.deepEqual(await provIds(`${srv.baseUrl}/$export`), ['prov1', 'prov2', 'prov3', 'prov4']);
      assert.deepEqual(
        await provIds(`${srv.baseUrl}/$export?includeAssociatedData=LatestProvenanceResources`),
        ['prov2', 'prov3', 'prov4'],
      );
    });

    test('at patient level, a Provenance is relevant through its patient or through a target in a compartment', async (t) => {
      const srv = await startTestServer(t, { backend });
      const orphan: FhirResource = { resourceType: 'Observation', id: 'orphan', status: 'final', code: {} };
      await srv.runtime.store.ingest([
        makePatient('p1'),
        makePatient('p2'),
        makeObservation('o1', 'p1'),
        makeObservation('o2', 'p2'),
        orphan,
        // Its patient settles it; its other target is of another patient.
        provenance('by-patient', ['Patient/p1', 'Observation/o2'], '2020-01-01T00:00:00Z'),
        provenance('by-lookup', ['Observation/o1'], '2021-01-01T00:00:00Z'),
        provenance('no-compartment', ['Observation/orphan'], '2021-06-01T00:00:00Z'),
        provenance('not-exported', ['Practitioner/dr'], '2021-06-01T00:00:00Z'),
        provenance('orphan-and-patient', ['Observation/orphan', 'Patient/p2'], '2022-01-01T00:00:00Z'),
        provenance('newer', ['Observation/o1'], '2023-01-01T00:00:00Z'),
      ]);
      const provIds = async (query: string): Promise<string[]> => {
        const m = await runExport(`${srv.baseUrl}/Patient/$export${query}`);
        const lines = await readLines(m.output.filter((o) => o.type === 'Provenance'));
        return lines.map((r) => String(r.id)).sort();
      };
      assert.deepEqual(await provIds(''), ['by-lookup', 'by-patient', 'newer', 'orphan-and-patient']);
      assert.deepEqual(await provIds('?includeAssociatedData=LatestProvenanceResources'), [
        'by-patient',
        'newer',
        'orphan-and-patient',
      ]);
    });
  });
}
