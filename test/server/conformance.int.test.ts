import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, suiteScope } from '../helpers/server.js';
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
});
