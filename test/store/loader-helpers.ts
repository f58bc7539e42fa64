// What the loader tests share: NDJSON text, a store per test, and reading stored JSON.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { FhirResource } from '../../src/fhir/index.js';
import type { ResourceStore } from '../../src/store/index.js';
import type { Backend, TestDatabase } from '../helpers/stores.js';

/** The resources as NDJSON text, newline-terminated. */
export const ndjson = (resources: FhirResource[]): string =>
  resources.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** The current version of a resource, parsed; fails the test when there is none. */
export async function currentJson(
  store: ResourceStore,
  type: string,
  id: string,
): Promise<Record<string, unknown>> {
  const result = await store.read(type, id);
  assert.ok(result.status === 'found', `${type}/${id} is not stored`);
  return JSON.parse(result.resource.json) as Record<string, unknown>;
}

/**
 * One database for a suite (made before its tests, dropped after them), and an opener of a store on
 * it emptied for each test.
 */
export function suiteStores(
  backend: Backend,
): (t: { after: (fn: () => Promise<void> | void) => void }) => Promise<ResourceStore> {
  let database: TestDatabase;
  before(async () => {
    database = await backend.create();
  });
  after(() => database?.drop());
  return async (t) => {
    const store = await backend.open(await backend.empty(database));
    t.after(() => store.close());
    return store;
  };
}
