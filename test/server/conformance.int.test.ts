import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { runExport, startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

// Conformance details of issue 13, each over real HTTP on a server without auth.

const KICKOFF_HEADERS = { accept: 'application/fhir+json', prefer: 'respond-async' };

interface Outcome {
  resourceType: string;
  issue: { severity: string; code: string; diagnostics?: string }[];
}

async function outcomeOf(res: Response, status: number): Promise<Outcome> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/);
  const body = JSON.parse(text) as Outcome;
  assert.equal(body.resourceType, 'OperationOutcome');
  return body;
}

describe('fhirhose over HTTP (issue 13)', () => {
  let srv: TestServer;
  const suite = suiteScope(after);

  before(async () => {
    srv = await startTestServer(suite);
  });

  describe('POST kick-off body', () => {
    for (const body of ['null', 'true', '0', '[]']) {
      test(`refuses the JSON body ${body} as invalid instead of exporting everything`, async () => {
        const res = await fetch(`${srv.baseUrl}/$export`, {
          method: 'POST',
          headers: { ...KICKOFF_HEADERS, 'content-type': 'application/fhir+json' },
          body,
        });
        const outcome = await outcomeOf(res, 400);
        assert.equal(outcome.issue[0]?.code, 'invalid');
      });
    }

    test('still accepts a POST kick-off without a body', async () => {
      const res = await fetch(`${srv.baseUrl}/$export`, { method: 'POST', headers: KICKOFF_HEADERS });
      await outcomeOf(res, 202);
      const status = res.headers.get('content-location');
      assert.ok(status);
      assert.equal((await fetch(status, { method: 'DELETE' })).status, 202);
    });
  });

  describe('impossible dates', () => {
    const kickoff = (query: string): Promise<Response> =>
      fetch(`${srv.baseUrl}/$export?${query}`, { headers: KICKOFF_HEADERS });
    const cases = [
      '_since=2024-02-30T00:00:00Z',
      '_since=2023-02-29T00:00:00Z',
      '_since=2024-04-31T00:00:00Z',
      '_since=0000-01-01T00:00:00Z',
      '_until=2024-02-30T00:00:00Z',
      '_until=0000-01-01T00:00:00Z',
      `_typeFilter=${encodeURIComponent('Observation?date=ge2024-02-30')}`,
      `_typeFilter=${encodeURIComponent('Observation?date=0000')}`,
      `_typeFilter=${encodeURIComponent('Observation?date=2023-02-29T10:00:00Z')}`,
    ];
    for (const query of cases) {
      test(`refuses ${decodeURIComponent(query)} as invalid`, async () => {
        const outcome = await outcomeOf(await kickoff(query), 400);
        assert.equal(outcome.issue[0]?.code, 'invalid');
      });
    }

    test('accepts February 29th of a leap year in _since', async () => {
      const res = await kickoff('_since=2024-02-29T00:00:00Z');
      await outcomeOf(res, 202);
      assert.equal(
        (await fetch(res.headers.get('content-location') ?? '', { method: 'DELETE' })).status,
        202,
      );
    });
  });

  describe('requests over the header size limit', () => {
    test('answers a request line over 16 KB with a 431 OperationOutcome', async () => {
      const res = await fetch(`${srv.baseUrl}/Patient?name=${'a'.repeat(20_000)}`, {
        headers: { accept: 'application/fhir+json' },
      });
      const outcome = await outcomeOf(res, 431);
      assert.equal(outcome.issue[0]?.code, 'too-long');
      assert.match(outcome.issue[0]?.diagnostics ?? '', /16384 bytes/);
    });

    test('answers headers over 16 KB with a 431 OperationOutcome', async () => {
      const res = await fetch(`${srv.baseUrl}/metadata`, { headers: { 'x-padding': 'b'.repeat(20_000) } });
      await outcomeOf(res, 431);
    });

    test('keeps serving after refusing one', async () => {
      assert.equal((await fetch(`${srv.baseUrl}/metadata`)).status, 200);
    });
  });

  describe('GET / (no FHIR interaction)', () => {
    test('gives a browser an HTML page linking the CapabilityStatement', async () => {
      const res = await fetch(`${srv.baseUrl}/`, {
        headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
      const html = await res.text();
      assert.match(html, /^<!DOCTYPE html>/);
      assert.ok(html.includes(`href="${srv.baseUrl}/metadata"`), html);
      assert.match(html, /README/);
      // No SMART configuration is served without auth, so none is linked.
      assert.ok(!html.includes('smart-configuration'), html);
    });

    for (const accept of ['application/fhir+json', '*/*', undefined]) {
      test(`gives Accept: ${accept ?? '(none)'} an informational OperationOutcome pointing to /metadata`, async () => {
        const res = await fetch(`${srv.baseUrl}/`, accept ? { headers: { accept } } : {});
        const outcome = await outcomeOf(res, 200);
        assert.equal(outcome.issue[0]?.severity, 'information');
        assert.equal(outcome.issue[0]?.code, 'informational');
        assert.ok(outcome.issue[0]?.diagnostics?.includes(`${srv.baseUrl}/metadata`));
      });
    }
  });

  describe('methods on a kick-off URL', () => {
    for (const path of ['/$export', '/Patient/$export', '/Group/g1/$export']) {
      test(`answers TRACE ${path} with 405 and Allow instead of 404`, async () => {
        const res = await rawRequest(`${srv.baseUrl}${path}`, 'TRACE');
        assert.equal(res.status, 405, res.body);
        assert.equal(res.headers.allow, 'GET, POST');
        assert.equal((JSON.parse(res.body) as Outcome).issue[0]?.code, 'not-supported');
      });

      test(`answers OPTIONS ${path} with 204 and Allow`, async () => {
        const res = await fetch(`${srv.baseUrl}${path}`, { method: 'OPTIONS' });
        assert.equal(res.status, 204);
        assert.equal(res.headers.get('allow'), 'GET, POST');
      });
    }

    test('still answers HEAD on a kick-off URL with 405', async () => {
      const res = await fetch(`${srv.baseUrl}/$export`, { method: 'HEAD' });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'GET, POST');
    });
  });

  describe('Range on a file download', () => {
    let fileUrl: string;
    let whole: string;

    before(async () => {
      const put = await fetch(`${srv.baseUrl}/Patient/range1`, {
        method: 'PUT',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Patient', id: 'range1', gender: 'female' }),
      });
      assert.ok(put.status === 200 || put.status === 201, await put.text());
      const manifest = await runExport(`${srv.baseUrl}/$export?_type=Patient`);
      fileUrl = manifest.output[0]?.url ?? '';
      whole = await (await fetch(fileUrl)).text();
      assert.ok(whole.length > 20);
    });

    for (const range of ['items=0-5', 'bytes=abc', 'bytes=0-1,4-5', 'bytes=9-2']) {
      test(`ignores Range: ${range} and serves the whole file`, async () => {
        const res = await fetch(fileUrl, { headers: { range } });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-range'), null);
        assert.equal(await res.text(), whole);
      });
    }

    test('still serves one bytes range as 206', async () => {
      const res = await fetch(fileUrl, { headers: { range: 'bytes=0-5' } });
      assert.equal(res.status, 206);
      assert.equal(await res.text(), whole.slice(0, 6));
    });
  });
});

/** One request by node:http, for methods fetch refuses to send (TRACE). */
function rawRequest(
  url: string,
  method: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('fhirhose over HTTP with auth on (issue 13)', () => {
  let srv: TestServer;
  const suite = suiteScope(after);

  before(async () => {
    srv = await startTestServer(suite, { auth: true });
  });

  describe('GET /', () => {
    test('needs no token, and links the SMART configuration', async () => {
      const res = await fetch(`${srv.baseUrl}/`, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.ok(html.includes(`href="${srv.baseUrl}/.well-known/smart-configuration"`), html);
      await outcomeOf(await fetch(`${srv.baseUrl}/`), 200);
    });
  });

  describe('token endpoint errors', () => {
    async function oauthError(res: Response, status: number, error: string): Promise<void> {
      const text = await res.text();
      assert.equal(res.status, status, text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const body = JSON.parse(text) as Record<string, unknown>;
      assert.equal(body.error, error, text);
      assert.equal(typeof body.error_description, 'string');
      assert.equal(body.resourceType, undefined);
    }
    const token = (init: RequestInit): Promise<Response> =>
      fetch(`${srv.baseUrl}/auth/token`, { method: 'POST', ...init });

    test('answers a JSON Content-Type without a body with RFC 6749 invalid_request', async () => {
      await oauthError(
        await token({ headers: { 'content-type': 'application/json' } }),
        400,
        'invalid_request',
      );
    });

    test('answers a JSON body with RFC 6749 invalid_request', async () => {
      const body = JSON.stringify({ grant_type: 'client_credentials' });
      const res = await token({ headers: { 'content-type': 'application/json' }, body });
      await oauthError(res, 400, 'invalid_request');
    });

    test('answers text/plain with RFC 6749 invalid_request, not a 415 OperationOutcome', async () => {
      const res = await token({ headers: { 'content-type': 'text/plain' }, body: 'grant_type=x' });
      await oauthError(res, 400, 'invalid_request');
    });

    test('answers GET with 405, Allow and RFC 6749 JSON', async () => {
      const res = await fetch(`${srv.baseUrl}/auth/token`);
      assert.equal(res.headers.get('allow'), 'POST');
      await oauthError(res, 405, 'invalid_request');
    });

    test('answers invalid_client with 401 and WWW-Authenticate', async () => {
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'system/*.rs',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: 'not.a.jwt',
      });
      const res = await token({ body });
      assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_client"');
      await oauthError(res, 401, 'invalid_client');
    });
  });

  describe('401 on FHIR routes', () => {
    for (const path of ['/Patient', '/$export', '/$export-status/nope']) {
      test(`GET ${path} without a token carries WWW-Authenticate: Bearer`, async () => {
        const res = await fetch(`${srv.baseUrl}${path}`, { headers: KICKOFF_HEADERS });
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer( |$)/);
        await outcomeOf(res, 401);
      });
    }
  });

  describe('/.well-known/smart-configuration', () => {
    // SMART App Launch 2.2.0, conformance.html, "Metadata" (HL7/smart-app-launch
    // input/pages/conformance.md): the fields marked REQUIRED, with their JSON type, and the
    // CONDITIONAL ones with the capabilities that make them required.
    const REQUIRED: Readonly<Record<string, 'string' | 'array'>> = {
      grant_types_supported: 'array',
      token_endpoint: 'string',
      capabilities: 'array',
      code_challenge_methods_supported: 'array',
    };
    const CONDITIONAL: readonly {
      field: string;
      requiredWith: readonly string[];
      otherwise: 'omitted' | 'optional';
    }[] = [
      { field: 'issuer', requiredWith: ['sso-openid-connect'], otherwise: 'omitted' },
      { field: 'jwks_uri', requiredWith: ['sso-openid-connect'], otherwise: 'optional' },
      {
        field: 'authorization_endpoint',
        requiredWith: ['launch-ehr', 'launch-standalone'],
        otherwise: 'optional',
      },
    ];

    let doc: Record<string, unknown>;
    before(async () => {
      const res = await fetch(`${srv.baseUrl}/.well-known/smart-configuration`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      doc = (await res.json()) as Record<string, unknown>;
    });

    test('carries every field SMART marks REQUIRED, with its type', () => {
      for (const [field, type] of Object.entries(REQUIRED)) {
        const value = doc[field];
        if (type === 'array') {
          assert.ok(Array.isArray(value) && value.length > 0, field);
          assert.ok(
            value.every((v) => typeof v === 'string'),
            field,
          );
        } else {
          assert.equal(typeof value, 'string', field);
        }
      }
    });

    test('carries the CONDITIONAL fields exactly when its capabilities require them', () => {
      const capabilities = doc.capabilities as string[];
      for (const { field, requiredWith, otherwise } of CONDITIONAL) {
        if (requiredWith.some((c) => capabilities.includes(c)))
          assert.equal(typeof doc[field], 'string', field);
        else if (otherwise === 'omitted') assert.equal(doc[field], undefined, field);
      }
    });

    test('tells the truth about a client_credentials-only server', () => {
      assert.deepEqual(doc.grant_types_supported, ['client_credentials']);
      assert.equal(doc.token_endpoint, `${srv.baseUrl}/auth/token`);
      assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(doc.token_endpoint_auth_methods_supported, ['private_key_jwt']);
      assert.ok((doc.token_endpoint_auth_signing_alg_values_supported as string[]).includes('ES384'));
      assert.ok((doc.scopes_supported as string[]).length > 0);
      assert.ok((doc.capabilities as string[]).includes('client-confidential-asymmetric'));
      assert.equal(doc.authorization_endpoint, undefined);
    });
  });
});
