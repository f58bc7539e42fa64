// ViewClient's $viewdefinition-export against our server over real HTTP with SMART auth: kick-off,
// polls, 303 to the result, every location downloaded to <name>.part<k>.<ext>, a stored view by reference.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK } from 'jose';
import { ViewClient } from '../../src/client/index.js';
import { runView } from '../../src/views/index.js';
import { jwksOf, makeKey, registerClient } from '../helpers/auth.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';

const PATIENTS = {
  resourceType: 'ViewDefinition',
  name: 'patients',
  resource: 'Patient',
  select: [{ column: [{ name: 'id', path: 'getResourceKey()', type: 'id' }] }],
};
const OBS = {
  resourceType: 'ViewDefinition',
  name: 'obs',
  status: 'active',
  resource: 'Observation',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'patient', path: 'subject.getReferenceKey(Patient)', type: 'id' },
      ],
    },
  ],
};
const DATA = [makePatient('p1'), makePatient('p2'), makeObservation('o1', 'p1'), makeObservation('o2', 'p2')];
const FAST = { pollBaseMs: 50, maxWaitMs: 300 };

describe('ViewClient view export against fhirhose', () => {
  const suite = suiteScope(after);
  const dir = tempDir({ after });
  let srv: TestServer;
  let client: ViewClient;

  before(async () => {
    srv = await startTestServer(suite, { auth: true });
    await srv.runtime.store.ingest(DATA);
    await srv.runtime.store.update({ ...OBS, id: 'obs' });
    const key = await makeKey('ES384');
    const scope = 'system/*.rs';
    const id = await registerClient(srv.runtime, { jwks: jwksOf(key) }, scope);
    const privateJwk = { ...(await exportJWK(key.privateKey)), kid: key.kid, alg: key.alg };
    client = new ViewClient(srv.baseUrl, { smart: { clientId: id, privateJwk, scope }, waits: FAST });
    suite.after(() => client.close());
  });

  test('downloads each view to <name>.part<k>.ndjson, a stored view by reference', async () => {
    const out = join(dir, 'nd');
    const result = await client.export(
      {
        views: [{ view: PATIENTS }, { reference: 'ViewDefinition/obs', name: 'observations' }],
        format: 'ndjson',
      },
      { outDir: out },
    );
    const names = readdirSync(out).sort();
    assert.ok(
      names.every((n) => /^(patients|observations)\.part\d+\.ndjson$/.test(n)),
      names.join(),
    );
    assert.equal(result.files.length, names.length);
    const rows = (prefix: string): Record<string, unknown>[] =>
      names
        .filter((n) => n.startsWith(prefix))
        .flatMap((n) => readFileSync(join(out, n), 'utf8').split('\n'))
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
      String(a['id']).localeCompare(String(b['id']));
    assert.deepEqual(rows('patients.').sort(byId), [...runView(PATIENTS, DATA)].sort(byId));
    assert.deepEqual(rows('observations.').sort(byId), [...runView(OBS, DATA)].sort(byId));
  });

  test('a refused kick-off rejects with the status and leaves no file', async () => {
    const out = join(dir, 'bad');
    await assert.rejects(
      client.export({ views: [{ reference: 'ViewDefinition/nope' }], format: 'csv' }, { outDir: out }),
      {
        status: 404,
      },
    );
    assert.deepEqual(existsSync(out) ? readdirSync(out) : [], []);
  });
});
