import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeGroup, makeObservation, makePatient } from '../helpers/builders.js';
import { kickoff, startTestServer, suiteScope, waitForExport } from '../helpers/server.js';
import type { TestManifest, TestServer } from '../helpers/server.js';
import { getToken, jwksOf, makeKey, registerClient } from '../helpers/auth.js';
import type { TestKey } from '../helpers/auth.js';
import { backends } from '../helpers/stores.js';

interface Outcome {
  resourceType: string;
  issue: { code: string; diagnostics?: string }[];
}

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    describe('authorization on the export and REST endpoints', () => {
      let srv: TestServer;
      let tokenUrl: string;
      let key: TestKey;
      const clients: Record<'full' | 'other' | 'narrow', string> = { full: '', other: '', narrow: '' };
      const clock = { now: Date.now() };
      const suite = suiteScope(after);

      before(async () => {
        srv = await startTestServer(suite, { backend, auth: true, now: () => clock.now });
        tokenUrl = `${srv.baseUrl}/auth/token`;
        key = await makeKey('ES384');
        clients.full = await registerClient(srv.runtime, { jwks: jwksOf(key) }, 'system/*.cruds');
        clients.other = await registerClient(srv.runtime, { jwks: jwksOf(key) }, 'system/*.rs');
        clients.narrow = await registerClient(
          srv.runtime,
          { jwks: jwksOf(key) },
          'system/Patient.rs system/Observation.rs',
        );
        await srv.runtime.store.ingest([
          makePatient('p1'),
          makePatient('p2'),
          makePatient('p3'),
          makeObservation('o1', 'p1'),
          makeObservation('o2', 'p2'),
          { resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p1' } },
          makeGroup('g1', ['Patient/p1', 'Patient/p2']),
        ]);
      });

      const token = (who: keyof typeof clients, scope = 'system/*.rs'): Promise<string> =>
        getToken(tokenUrl, { id: clients[who], key }, scope, clock.now);
      const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

      async function expect401(res: Response, issueCode = 'security'): Promise<void> {
        assert.equal(res.status, 401);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
        const outcome = (await res.json()) as Outcome;
        assert.equal(outcome.resourceType, 'OperationOutcome');
        assert.equal(outcome.issue[0]?.code, issueCode);
      }

      async function expect403(res: Response): Promise<string> {
        assert.equal(res.status, 403);
        const outcome = (await res.json()) as Outcome;
        assert.equal(outcome.issue[0]?.code, 'forbidden');
        return outcome.issue[0]?.diagnostics ?? '';
      }

      const get = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
        fetch(`${srv.baseUrl}${path}`, { headers: { prefer: 'respond-async', ...headers } });

      async function finish(statusUrl: string, t: string): Promise<TestManifest> {
        const res = await waitForExport(statusUrl, bearer(t));
        assert.equal(res.status, 200);
        return (await res.json()) as TestManifest;
      }

      test('serves SMART discovery as application/json without a token', async () => {
        const res = await fetch(`${srv.baseUrl}/.well-known/smart-configuration`, {
          headers: { accept: 'application/fhir+json' },
        });
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        const config = (await res.json()) as Record<string, unknown>;
        assert.equal(config.token_endpoint, tokenUrl);
        assert.deepEqual(config.grant_types_supported, ['client_credentials']);
        assert.deepEqual(config.token_endpoint_auth_methods_supported, ['private_key_jwt']);
        assert.deepEqual(config.token_endpoint_auth_signing_alg_values_supported, ['RS384', 'ES384']);
        assert.ok((config.capabilities as string[]).includes('client-confidential-asymmetric'));
        assert.ok((config.capabilities as string[]).includes('permission-v1'));
        assert.ok((config.capabilities as string[]).includes('permission-v2'));
        assert.ok((config.scopes_supported as string[]).includes('system/*.rs'));
      });

      test('announces the token URL in the CapabilityStatement security extension', async () => {
        const res = await fetch(`${srv.baseUrl}/metadata`);
        assert.equal(res.status, 200);
        const cs = (await res.json()) as {
          rest: {
            security: { extension: { url: string; extension: { url: string; valueUri: string }[] }[] };
          }[];
        };
        const oauth = cs.rest[0]?.security.extension.find((e) => e.url.endsWith('/oauth-uris'));
        assert.deepEqual(oauth?.extension, [{ url: 'token', valueUri: tokenUrl }]);
      });

      test('refuses a kick-off without a token with 401 and an OperationOutcome', async () => {
        await expect401(await get('/$export'));
      });

      test('refuses a garbage token with 401', async () => {
        await expect401(await get('/$export', bearer('not.a.token')));
        await expect401(await get('/$export', { authorization: 'Basic dXNlcjpwYXNz' }));
      });

      test('refuses an expired token with 401 and issue code expired', async () => {
        const t = await token('full');
        clock.now += 301_000;
        await expect401(await get('/$export', bearer(t)), 'expired');
      });

      test('refuses _type naming a type the scopes do not cover with 403', async () => {
        const text = await expect403(
          await get('/$export?_type=Patient,Condition', bearer(await token('narrow'))),
        );
        assert.match(text, /Condition/);
      });

      test('refuses a _typeFilter on a type the scopes do not cover with 403', async () => {
        const filter = encodeURIComponent('Condition?_lastUpdated=gt2000-01-01');
        await expect403(await get(`/$export?_typeFilter=${filter}`, bearer(await token('narrow'))));
      });

      test('exports only the scoped types when _type is absent, and requires a token for files', async () => {
        const t = await token('narrow');
        const status = await kickoff(`${srv.baseUrl}/$export`, { headers: bearer(t) });
        const manifest = await finish(status, t);
        assert.equal(manifest.requiresAccessToken, true);
        assert.deepEqual(manifest.output.map((o) => o.type).sort(), ['Observation', 'Patient']);
        const file = manifest.output[0]!.url;
        await expect401(await fetch(file));
        const res = await fetch(file, { headers: bearer(t) });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'application/fhir+ndjson');
        await res.arrayBuffer();
      });

      test('refuses a Group export without Group read with 403, and runs it with Group read', async () => {
        const text = await expect403(await get('/Group/g1/$export', bearer(await token('narrow'))));
        assert.match(text, /Group/);
        const t = await token('full');
        const manifest = await finish(
          await kickoff(`${srv.baseUrl}/Group/g1/$export`, { headers: bearer(t) }),
          t,
        );
        assert.ok(manifest.output.some((o) => o.type === 'Patient'));
      });

      test("answers 404 to another client's status, DELETE and file requests", async () => {
        const mine = await token('full');
        const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient`, { headers: bearer(mine) });
        const manifest = await finish(status, mine);
        const theirs = bearer(await token('other'));
        assert.equal((await fetch(status, { headers: theirs })).status, 404);
        assert.equal((await fetch(status, { method: 'DELETE', headers: theirs })).status, 404);
        assert.equal((await fetch(manifest.output[0]!.url, { headers: theirs })).status, 404);
        await expect401(await fetch(status));
        await expect401(await fetch(status, { method: 'DELETE' }));
        const again = await fetch(status, { headers: bearer(mine) });
        assert.equal(again.status, 200, 'the owner still sees the job');
        await again.arrayBuffer();
      });

      test('a fresh token of the same client works after the first one expired', async () => {
        const first = await token('full');
        const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient,Observation`, {
          headers: bearer(first),
        });
        clock.now += 301_000;
        await expect401(await fetch(status, { headers: bearer(first) }), 'expired');
        const second = await token('full');
        const manifest = await finish(status, second);
        for (const entry of manifest.output) {
          await expect401(await fetch(entry.url, { headers: bearer(first) }), 'expired');
          const res = await fetch(entry.url, { headers: bearer(second) });
          assert.equal(res.status, 200);
          await res.arrayBuffer();
        }
        const del = await fetch(status, { method: 'DELETE', headers: bearer(second) });
        assert.equal(del.status, 202);
        await del.arrayBuffer();
      });

      test('checks scopes on REST reads, searches and writes', async () => {
        const narrow = bearer(await token('narrow'));
        assert.equal((await fetch(`${srv.baseUrl}/Patient/p1`, { headers: narrow })).status, 200);
        assert.equal((await fetch(`${srv.baseUrl}/Observation`, { headers: narrow })).status, 200);
        await expect403(await fetch(`${srv.baseUrl}/Condition/c1`, { headers: narrow }));
        await expect403(await fetch(`${srv.baseUrl}/Condition`, { headers: narrow }));
        await expect401(await fetch(`${srv.baseUrl}/Patient/p1`));
        const body = JSON.stringify(makePatient('p1', { gender: 'other' }));
        const put = (h: Record<string, string>) =>
          fetch(`${srv.baseUrl}/Patient/p1`, {
            method: 'PUT',
            headers: { ...h, 'content-type': 'application/fhir+json' },
            body,
          });
        await expect403(await put(narrow));
        const writer = bearer(await token('full', 'system/*.cruds'));
        assert.equal((await put(writer)).status, 200);
      });

      test("stops a removed client's tokens at once", async () => {
        const gone = await registerClient(srv.runtime, { jwks: jwksOf(key) });
        const t = await getToken(tokenUrl, { id: gone, key }, 'system/*.rs', clock.now);
        assert.equal((await fetch(`${srv.baseUrl}/Patient/p1`, { headers: bearer(t) })).status, 200);
        await srv.runtime.auth!.registry.remove(gone);
        await expect401(await fetch(`${srv.baseUrl}/Patient/p1`, { headers: bearer(t) }));
      });
    });
  });
}
