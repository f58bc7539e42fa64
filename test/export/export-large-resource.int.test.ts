// The export threads run with a capped old generation (worker-pool.ts, OLD_GENERATION_MB), so the
// collector runs sooner: a resource far larger than the bench's still has to export on every path.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FhirResource } from '../../src/fhir/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { readLines, runExport, startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

// Many small objects are the worst case for a parsed row: a V8 heap several times the JSON's size.
const COMPONENTS = 400_000;

const component = Array.from({ length: COMPONENTS }, (_, i) => ({
  code: { text: `c${i}` },
  valueString: `value ${i} é`,
}));

function largeObservation(): FhirResource {
  return makeObservation('large', 'p1', {
    performer: [{ reference: 'Practitioner/pr1' }],
    component,
  });
}

for (const backend of backends()) {
  describe(`a resource of about 22 MB on ${backend.name}`, { skip: backend.skip }, () => {
    let srv: TestServer;
    const suite = suiteScope(after);

    before(async () => {
      srv = await startTestServer(suite, { backend });
      await srv.runtime.store.ingest([
        makePatient('p1'),
        { resourceType: 'Practitioner', id: 'pr1' },
        makeObservation('small', 'p1'),
        largeObservation(),
      ]);
    });

    const observations = async (url: string): Promise<Record<string, unknown>[]> => {
      const manifest = await runExport(url);
      assert.deepEqual(manifest.error, []);
      const lines = await readLines(manifest.output);
      return lines.filter((r) => r.resourceType === 'Observation');
    };

    test('exports whole as bytes, with the Practitioner it refers to', async () => {
      const manifest = await runExport(`${srv.baseUrl}/Patient/$export`);
      assert.deepEqual(manifest.error, []);
      const lines = await readLines(manifest.output);
      const got = lines.find((r) => r.id === 'large') as { component: unknown[] } | undefined;
      assert.ok(got, 'the large Observation is exported');
      assert.equal(got.component.length, COMPONENTS);
      assert.deepEqual(got.component, component);
      assert.ok(lines.some((r) => r.resourceType === 'Practitioner' && r.id === 'pr1'));
    });

    test('exports whole when a _typeFilter parses it', async () => {
      const filter = encodeURIComponent('Observation?status=final');
      const got = await observations(`${srv.baseUrl}/$export?_type=Observation&_typeFilter=${filter}`);
      assert.deepEqual(got.map((r) => r.id).sort(), ['large', 'small']);
      const parsed = got.find((r) => r.id === 'large') as { component: unknown[] };
      assert.deepEqual(parsed.component, component);
    });

    test('exports its projection under _elements', async () => {
      const got = await observations(`${srv.baseUrl}/$export?_type=Observation&_elements=component`);
      const projected = got.find((r) => r.id === 'large') as { component: unknown[] } | undefined;
      assert.equal(projected?.component.length, COMPONENTS);
    });
  });
}
