import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { FhirResource } from '../../src/fhir/index.js';
import { buildServer } from '../../src/server/index.js';
import type { BuildServerOptions } from '../../src/server/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { ResourceStore } from '../../src/store/index.js';

export const BASE = 'https://fhir.example.test/r4';

/** A test server over a fresh SQLite file, with a clock the test moves. */
export interface TestServer {
  app: FastifyInstance;
  store: ResourceStore;
  /** The store's wall clock, in epoch ms. */
  clock: { now: number };
}

/** Start a server on a temp SQLite store; `t.after` closes both and removes the file. */
export function startServer(
  t: { after: (fn: () => Promise<void>) => void },
  options: Partial<BuildServerOptions> = {},
): TestServer {
  const dir = mkdtempSync(join(tmpdir(), 'fhirhose-'));
  const clock = { now: Date.UTC(2024, 0, 1) };
  const store = openSqliteStore(join(dir, 'store.sqlite'), { now: () => clock.now });
  const app = buildServer({ store, baseUrl: BASE, logger: false, ...options });
  t.after(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { app, store, clock };
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
