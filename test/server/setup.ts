import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { FhirResource } from '../../src/fhir/index.js';
import { buildServer } from '../../src/server/index.js';
import type { BuildServerOptions } from '../../src/server/index.js';
import type { ResourceStore } from '../../src/store/index.js';
import { backends } from '../helpers/stores.js';
import type { Backend } from '../helpers/stores.js';

export const BASE = 'https://fhir.example.test/r4';

/** A test server over a fresh database, with a clock the test moves. */
export interface TestServer {
  app: FastifyInstance;
  store: ResourceStore;
  /** The store's wall clock, in epoch ms. */
  clock: { now: number };
}

/** Starts a server on a fresh database of one backend; `t.after` closes both and removes the database. */
export type StartServer = (
  t: { after: (fn: () => Promise<void>) => void },
  options?: Partial<BuildServerOptions>,
) => Promise<TestServer>;

/** A {@link StartServer} on `backend`: each test gets a database (SQLite file, PostgreSQL schema) of its own. */
export function serverOn(backend: Backend): StartServer {
  return async (t, options = {}) => {
    const database = await backend.create();
    const clock = { now: Date.UTC(2024, 0, 1) };
    const store = await backend.open(database.db, { now: () => clock.now });
    const app = buildServer({ store, baseUrl: BASE, logger: false, ...options });
    t.after(async () => {
      await app.close();
      await store.close();
      await database.drop();
    });
    return { app, store, clock };
  };
}

/** OperationOutcome as the tests read it. */
export interface OutcomeJson {
  resourceType: string;
  issue: { severity: string; code: string; diagnostics?: string; expression?: string[] }[];
}

/** A searchset Bundle as the tests read it. */
export interface BundleJson {
  resourceType: string;
  type: string;
  total?: number;
  link: { relation: string; url: string }[];
  entry?: { fullUrl: string; resource: FhirResource; search: { mode: string } }[];
}

/** Assert a FHIR JSON response with `status`, and return its parsed body. */
export function fhirJson<T>(res: LightMyRequestResponse, status: number): T {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/fhir\+json; charset=utf-8$/);
  return JSON.parse(res.body) as T;
}

/** Assert an error OperationOutcome with `status` and issue code `code`, and return it. */
export function assertOutcome(res: LightMyRequestResponse, status: number, code: string): OutcomeJson {
  const outcome = fhirJson<OutcomeJson>(res, status);
  assert.equal(outcome.resourceType, 'OperationOutcome');
  assert.equal(outcome.issue.length, 1);
  assert.equal(outcome.issue[0]?.severity, 'error');
  assert.equal(outcome.issue[0]?.code, code);
  assert.equal(typeof outcome.issue[0]?.diagnostics, 'string');
  assert.doesNotMatch(res.body, /\n\s+at /, 'no stack trace');
  return outcome;
}

/** Search ids of a Bundle, in entry order. */
export function entryIds(bundle: BundleJson): string[] {
  return (bundle.entry ?? []).map((e) => String(e.resource.id));
}

/** The JSON headers for a FHIR write. */
export const FHIR_HEADERS = { 'content-type': 'application/fhir+json' };

/** {@link StartServer} on SQLite, for tests of the HTTP layer that do not depend on the store. */
export const startServer: StartServer = serverOn(backends().find((b) => b.name === 'SQLite')!);
