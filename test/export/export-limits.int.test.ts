import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { JobStatus } from '../../src/store/index.js';
import { makePatient } from '../helpers/builders.js';
import { kickoff, startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

// Limits on a kick-off (docs/export.md "Limits on a kick-off"), HEAD on the kick-off URLs, and a
// cancel sent with a JSON Content-Type and no body, over real HTTP on both stores.

const FHIR_JSON = 'application/fhir+json';
const STATUSES: JobStatus[] = ['running', 'completed', 'failed', 'cancelled'];
// Two limits set lower than their defaults, to show the settings reach the server; the rest default.
const BODY_LIMIT = 2 * 1024 * 1024;
const ENV = { FHIRHOSE_MAX_KICKOFF_BODY_BYTES: String(BODY_LIMIT), FHIRHOSE_MAX_PATIENTS: '50' };

interface Outcome {
  resourceType: string;
  issue: { severity: string; code: string; diagnostics: string; expression?: string[] }[];
}

/** A Parameters body with these entries, as text. */
function parameters(entries: Record<string, unknown>[]): string {
  return JSON.stringify({ resourceType: 'Parameters', parameter: entries });
}

/** `n` comma-separated codes `c0,c1,...`. */
function codes(n: number): string {
  return Array.from({ length: n }, (_, i) => `c${i}`).join(',');
}

/** A response as the assertions read it, from fetch or from node:http. */
interface Answer {
  status: number;
  contentType: string;
  text: string;
}

async function answerOf(res: Response): Promise<Answer> {
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** Assert a refusal with `status`, issue code `code`, `expression` and diagnostics `diagnostics`. */
async function assertRefused(
  res: Response | Answer,
  expected: { status: number; code: string; diagnostics: string | RegExp; expression?: string },
): Promise<void> {
  const { status, contentType, text } = res instanceof Response ? await answerOf(res) : res;
  assert.equal(status, expected.status, text);
  assert.match(contentType, /^application\/fhir\+json/);
  const outcome = JSON.parse(text) as Outcome;
  assert.equal(outcome.resourceType, 'OperationOutcome');
  const [issue] = outcome.issue;
  assert.equal(issue?.severity, 'error');
  assert.equal(issue?.code, expected.code);
  if (typeof expected.diagnostics === 'string') assert.equal(issue?.diagnostics, expected.diagnostics);
  else assert.match(issue?.diagnostics ?? '', expected.diagnostics);
  assert.deepEqual(issue?.expression, expected.expression === undefined ? undefined : [expected.expression]);
}

/** POST `body` with node:http, chunked (no Content-Length) when asked; resolves on the response. */
function rawPost(url: string, body: string, chunked: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': FHIR_JSON };
    if (!chunked) headers['content-length'] = String(Buffer.byteLength(body));
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const contentType = res.headers['content-type'] ?? '';
        resolve({ status: res.statusCode ?? 0, contentType, text: Buffer.concat(chunks).toString() });
      });
      res.on('error', reject);
    });
    // The server answers before it has read the whole body and closes the connection, so the rest
    // of the upload may fail with EPIPE or ECONNRESET: the response is what the test reads.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    const piece = 64 * 1024;
    for (let i = 0; i < body.length; i += piece) req.write(body.slice(i, i + piece));
    req.end();
  });
}

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    describe('kick-off limits, HEAD and DELETE over HTTP', () => {
      let srv: TestServer;
      const suite = suiteScope(after);

      /** Every job in the store, whatever its state: what a kick-off leaves behind. */
      async function jobCount(): Promise<number> {
        let n = 0;
        for (const status of STATUSES) n += await srv.runtime.store.jobs.countJobs(null, status);
        return n;
      }

      before(async () => {
        srv = await startTestServer(suite, { backend, env: ENV });
        await srv.runtime.store.ingest([makePatient('p1'), makePatient('p2')]);
      });

      test('refuses a 1.5 MB POST with a 200,000-value _typeFilter by its OR-ed values, not its size', async () => {
        const body = parameters([{ name: '_typeFilter', valueString: `Observation?code=${codes(200_000)}` }]);
        assert.ok(body.length > 1_400_000 && body.length < BODY_LIMIT, `${body.length} bytes`);
        const res = await fetch(`${srv.baseUrl}/$export`, {
          method: 'POST',
          headers: { 'content-type': FHIR_JSON, prefer: 'respond-async' },
          body,
        });
        await assertRefused(res, {
          status: 400,
          code: 'too-costly',
          expression: '_typeFilter',
          diagnostics:
            '_typeFilter has 200000 OR-ed values for code; the limit is 100 (FHIRHOSE_MAX_FILTER_OR_VALUES)',
        });
        assert.equal(await jobCount(), 0);
      });

      test('refuses more _typeFilter queries than FHIRHOSE_MAX_TYPE_FILTERS, counting comma-joined ones', async () => {
        // Two repeats of comma-joined (v1 style) lists: 50 and 51 queries.
        const queries = Array.from({ length: 101 }, (_, i) => `Observation?code=c${i}`);
        const lists = [queries.slice(0, 50), queries.slice(50)].map((list) => list.join(','));
        const query = lists.map((list) => `_typeFilter=${encodeURIComponent(list)}`).join('&');
        const res = await fetch(`${srv.baseUrl}/$export?${query}`);
        await assertRefused(res, {
          status: 400,
          code: 'too-costly',
          expression: '_typeFilter',
          diagnostics: '_typeFilter has 101 queries; the limit is 100 (FHIRHOSE_MAX_TYPE_FILTERS)',
        });
      });

      test('refuses _typeFilter values longer together than FHIRHOSE_MAX_FILTER_CHARS', async () => {
        const filter = `Observation?code=${'x'.repeat(40_000)}`;
        const body = parameters([
          { name: '_typeFilter', valueString: filter },
          { name: '_typeFilter', valueString: filter },
        ]);
        const res = await fetch(`${srv.baseUrl}/Patient/$export`, {
          method: 'POST',
          headers: { 'content-type': FHIR_JSON },
          body,
        });
        await assertRefused(res, {
          status: 400,
          code: 'too-costly',
          expression: '_typeFilter',
          diagnostics: `_typeFilter has ${2 * filter.length} characters; the limit is 65536 (FHIRHOSE_MAX_FILTER_CHARS)`,
        });
      });

      test('refuses more _type entries than FHIRHOSE_MAX_TYPES, under lenient handling too', async () => {
        const types = Array.from({ length: 201 }, () => 'Patient').join(',');
        const res = await fetch(`${srv.baseUrl}/$export?_type=${types}`, {
          headers: { prefer: 'respond-async, handling=lenient' },
        });
        await assertRefused(res, {
          status: 400,
          code: 'too-costly',
          expression: '_type',
          diagnostics: '_type has 201 entries; the limit is 200 (FHIRHOSE_MAX_TYPES)',
        });
      });

      test('refuses more patient references than FHIRHOSE_MAX_PATIENTS before reading any', async () => {
        // None of these patients exists: the limit is found before the store is asked.
        const refs = Array.from({ length: 51 }, (_, i) => ({
          name: 'patient',
          valueReference: { reference: `Patient/missing-${i}` },
        }));
        for (const url of ['/Patient/$export', '/Group/g1/$export']) {
          const res = await fetch(`${srv.baseUrl}${url}`, {
            method: 'POST',
            headers: { 'content-type': FHIR_JSON },
            body: parameters(refs),
          });
          await assertRefused(res, {
            status: 400,
            code: 'too-costly',
            expression: 'patient',
            diagnostics: 'patient has 51 references; the limit is 50 (FHIRHOSE_MAX_PATIENTS)',
          });
        }
      });

      test('answers a kick-off body over FHIRHOSE_MAX_KICKOFF_BODY_BYTES with 413 naming both sizes', async () => {
        const body = parameters([{ name: '_type', valueString: 'Patient' }]).padEnd(BODY_LIMIT + 10, ' ');
        await assertRefused(await rawPost(`${srv.baseUrl}/$export`, body, false), {
          status: 413,
          code: 'too-long',
          diagnostics: `request body has ${BODY_LIMIT + 10} bytes; the limit is ${BODY_LIMIT} bytes (FHIRHOSE_MAX_KICKOFF_BODY_BYTES)`,
        });
        // Without a Content-Length the server stops reading at the limit, so it names no exact size.
        await assertRefused(await rawPost(`${srv.baseUrl}/Patient/$export`, body, true), {
          status: 413,
          code: 'too-long',
          diagnostics: `request body has more than ${BODY_LIMIT} bytes; the limit is ${BODY_LIMIT} bytes (FHIRHOSE_MAX_KICKOFF_BODY_BYTES)`,
        });
        assert.equal(await jobCount(), 0);
      });

      test('keeps the general 16 MiB body limit on other routes', async () => {
        const patient = makePatient('big', {
          text: { status: 'generated', div: `<div>${'x'.repeat(BODY_LIMIT)}</div>` },
        });
        const res = await fetch(`${srv.baseUrl}/Patient/big`, {
          method: 'PUT',
          headers: { 'content-type': FHIR_JSON },
          body: JSON.stringify(patient),
        });
        assert.equal(res.status, 201, await res.text());
      });

      test('answers HEAD on every kick-off URL with 405 and Allow, and starts no job', async () => {
        const before = await jobCount();
        for (const url of ['/$export', '/Patient/$export', '/Group/g1/$export', '/$export?_type=Patient']) {
          const res = await fetch(`${srv.baseUrl}${url}`, {
            method: 'HEAD',
            headers: { prefer: 'respond-async' },
          });
          assert.equal(res.status, 405, url);
          assert.equal(res.headers.get('allow'), 'GET, POST', url);
          assert.equal(res.headers.get('content-location'), null, url);
          assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/);
        }
        assert.equal(await jobCount(), before, 'HEAD created a job');
        // The count sees jobs: a GET on the same URL creates one.
        await kickoff(`${srv.baseUrl}/$export?_type=Patient`);
        assert.equal(await jobCount(), before + 1);
      });

      test('answers other methods on a kick-off URL with 405 too', async () => {
        for (const method of ['PUT', 'DELETE', 'PATCH']) {
          const res = await fetch(`${srv.baseUrl}/Patient/$export`, { method });
          await assertRefused(res, {
            status: 405,
            code: 'not-supported',
            diagnostics: `${method} is not allowed here; use GET, POST`,
          });
          assert.equal(res.headers.get('allow'), 'GET, POST');
        }
      });

      test('cancels a job by DELETE with a JSON Content-Type and no body', async () => {
        for (const type of [FHIR_JSON, 'application/json']) {
          const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient`);
          const res = await fetch(status, { method: 'DELETE', headers: { 'content-type': type } });
          assert.equal(res.status, 202, await res.text());
          const after = await fetch(status);
          assert.equal(after.status, 404, type);
          await after.arrayBuffer();
        }
      });

      test('still refuses an empty JSON body where a body is required', async () => {
        for (const [method, url] of [
          ['POST', '/$export'],
          ['POST', '/Patient'],
          ['PUT', '/Patient/p1'],
        ] as const) {
          const res = await fetch(`${srv.baseUrl}${url}`, {
            method,
            headers: { 'content-type': FHIR_JSON },
            body: '',
          });
          await assertRefused(res, { status: 400, code: 'invalid', diagnostics: 'request body is empty' });
        }
      });
    });
  });
}
