import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import { openSqliteStore } from '../../src/store/index.js';
import { freePort } from '../helpers/server.js';
import { killHard, populate, sleep, startFhirhose, waitUp } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';

// FHIRHOSE_VIEW_CRASH_RESOURCES makes a larger (or quicker) local run possible.
const RESOURCES = Number(process.env.FHIRHOSE_VIEW_CRASH_RESOURCES ?? 300_000);

const OBS_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'obs',
  resource: 'Observation',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'patient', path: 'subject.getReferenceKey(Patient)', type: 'id' },
        { name: 'code', path: 'code.coding.code', type: 'code', collection: true },
        { name: 'value', path: 'value.ofType(Quantity).value', type: 'decimal' },
      ],
    },
  ],
};
const PATIENT_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'patients',
  resource: 'Patient',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()' },
        { name: 'gender', path: 'gender' },
      ],
    },
  ],
};

async function kickoff(baseUrl: string): Promise<string> {
  const res = await request(`${baseUrl}/$viewdefinition-export`, {
    method: 'POST',
    headers: { prefer: 'respond-async', 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Parameters',
      parameter: [
        { name: '_format', valueCode: 'parquet' },
        ...[OBS_VIEW, PATIENT_VIEW].map((resource) => ({
          name: 'view',
          part: [{ name: 'viewResource', resource }],
        })),
      ],
    }),
  });
  const body = await res.body.text();
  assert.equal(res.statusCode, 202, body);
  return res.headers['content-location'] as string;
}

/** Poll to the 303, then every file of the result as `name -> sha256`, in result order. */
async function files(status: string): Promise<Map<string, string>> {
  for (let i = 0; i < 900; i++) {
    const res = await request(status);
    await res.body.dump();
    if (res.statusCode === 303) {
      const result = await request(res.headers['location'] as string);
      assert.equal(result.statusCode, 200);
      const body = (await result.body.json()) as {
        parameter: { name: string; part?: { name: string; valueUri?: string }[] }[];
      };
      const out = new Map<string, string>();
      for (const output of body.parameter.filter((p) => p.name === 'output')) {
        for (const part of output.part!.filter((p) => p.name === 'location')) {
          const file = await request(part.valueUri!);
          assert.equal(file.statusCode, 200);
          const hash = createHash('sha256').update(Buffer.from(await file.body.arrayBuffer()));
          out.set(part.valueUri!.split('/').pop()!, hash.digest('hex'));
        }
      }
      return out;
    }
    assert.equal(res.statusCode, 202);
    await sleep(500);
  }
  throw new Error('view export did not finish');
}

test(
  'a server killed with SIGKILL mid view export resumes and writes files identical to an undisturbed run',
  { timeout: 15 * 60_000 },
  async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'crash.db');
    const store = openSqliteStore(db);
    await populate(store, RESOURCES, 7);
    await store.close();
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    // Small files, so the resumed job holds many parts whose every byte is compared.
    const args = ['serve', '--db', db, '--port', String(port), '--export-dir', join(dir, 'exports')];
    const env = { FHIRHOSE_FILE_MAX_BYTES: String(1024 * 1024) };
    let server = startFhirhose(args, env);
    t.after(() => void server.kill('SIGKILL'));
    await waitUp(baseUrl);

    const status = await kickoff(baseUrl);
    let killedAt = '';
    for (let i = 0; i < 600 && !killedAt; i++) {
      await sleep(200);
      const res = await request(status);
      await res.body.dump();
      assert.equal(res.statusCode, 202, 'the view export finished before the crash could be injected');
      const progress = String(res.headers['x-progress'] ?? '');
      if (Number.parseInt(progress, 10) >= 10) killedAt = progress;
    }
    await killHard(server);
    assert.ok(killedAt, 'never saw the view export in progress');

    server = startFhirhose(args, env);
    await waitUp(baseUrl);
    const resumed = await files(status);
    const undisturbed = await files(await kickoff(baseUrl));
    assert.ok(resumed.size > 2, `several parts (killed at ${killedAt})`);
    assert.deepEqual([...resumed.keys()], [...undisturbed.keys()]);
    assert.deepEqual(resumed, undisturbed, `killed at ${killedAt}`);
    // Stopped here, not only by the after hook: the temp folder's hook runs first, and a live server
    // (whose export threads come and go) may create files in the folder while it is removed.
    await killHard(server);
  },
);
