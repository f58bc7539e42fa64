import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStorage } from '../../src/storage/index.js';
import { loadPaths } from '../../src/store/index.js';
import { compileRequest, runUnit, UnitYieldedError } from '../../src/export/unit-runner.js';
import type { UnitContext } from '../../src/export/unit-runner.js';
import { decodeUnit, encodeUnitCheckpoint } from '../../src/export/job-codec.js';
import type { UnitCheckpoint } from '../../src/export/unit-spec.js';
import { makeGroup } from '../helpers/builders.js';
import { generatedDataSet } from '../helpers/fixtures.js';
import { startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';

// A view unit that checkpoints part-way (fair sharing gives its worker to another client) and resumes
// must write the rows an uninterrupted run writes, on both of its read paths.

const OBS_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'obs',
  resource: 'Observation',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()' },
        { name: 'status', path: 'status' },
      ],
    },
  ],
};

async function runJob(srv: TestServer, extra: unknown[]): Promise<string> {
  const res = await fetch(`${srv.baseUrl}/$viewdefinition-export`, {
    method: 'POST',
    headers: { prefer: 'respond-async', 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Parameters',
      parameter: [{ name: 'view', part: [{ name: 'viewResource', resource: OBS_VIEW }] }, ...extra],
    }),
  });
  assert.equal(res.status, 202);
  const status = res.headers.get('content-location')!;
  for (let i = 0; i < 300; i++) {
    const poll = await fetch(status, { redirect: 'manual' });
    await poll.arrayBuffer();
    if (poll.status === 303) return status.split('/').pop()!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('did not finish');
}

describe('view units that checkpoint and resume', () => {
  const suite = suiteScope(after);
  let srv: TestServer;

  before(async () => {
    srv = await startTestServer(suite, { export: { rowsPerUnit: 100_000 } });
    await loadPaths(srv.runtime.store, [(await generatedDataSet()).dir]);
    const ids = await srv.runtime.store.patientIds(await srv.runtime.store.tick());
    await srv.runtime.store.ingest([
      makeGroup(
        'some',
        ids.slice(0, 20).map((p) => `Patient/${p}`),
      ),
    ]);
  });

  for (const [path, extra] of [
    ['a key range of the type', []],
    ['a share of the members', [{ name: 'group', valueReference: { reference: 'Group/some' } }]],
  ] as const) {
    test(`over ${path}, the rows are those of an uninterrupted run`, async (t) => {
      const store = srv.runtime.store;
      const job = (await store.jobs.getJob(await runJob(srv, [...extra])))!;
      const unit = (await store.jobs.listUnits(job.id)).find((u) => u.spec.includes('"view"'))!;
      assert.equal(JSON.parse(unit.spec).patients !== undefined, extra.length > 0);
      const compiled = await compileRequest(store, job);
      const storage = await createStorage({ kind: 'local', root: tempDir(t) });
      const ctx = (over: Partial<UnitContext> = {}): UnitContext => ({
        store,
        storage,
        fileMaxBytes: 1 << 20,
        rowsPerUnit: 1000,
        memberBatchPatients: 3,
        progress: async () => true,
        savePlan: async () => true,
        yieldNow: async () => false,
        saveCheckpoint: async () => true,
        ...over,
      });
      const read = async (files: { name: string }[]): Promise<string[]> => {
        const out: string[] = [];
        for (const f of files) {
          const chunks: Buffer[] = [];
          for await (const c of storage.read(job.id, f.name)) chunks.push(c as Buffer);
          for (const l of Buffer.concat(chunks).toString('utf8').split('\n')) if (l) out.push(l);
        }
        return out.sort();
      };
      const whole = await read(
        (await runUnit({ ctx: ctx(), job, compiled, unit, ...decodeUnit({ ...unit, checkpoint: null }) }))
          .files,
      );
      let saved: UnitCheckpoint | undefined;
      let asked = 0;
      const paused = ctx({
        yieldNow: async () => ++asked === 2,
        saveCheckpoint: async (cp) => ((saved = cp), true),
      });
      await assert.rejects(
        runUnit({ ctx: paused, job, compiled, unit, ...decodeUnit({ ...unit, checkpoint: null }) }),
        UnitYieldedError,
      );
      assert.ok(saved && saved.files.length > 0 && saved.segment === 1, 'a checkpoint with files');
      const resumed = await runUnit({
        ctx: ctx(),
        job,
        compiled,
        unit,
        ...decodeUnit({ ...unit, checkpoint: encodeUnitCheckpoint(saved!) }),
      });
      assert.ok(resumed.files.length > saved.files.length, 'the rest in a new segment');
      assert.deepEqual(await read(resumed.files), whole);
      assert.ok(whole.length > 50);
    });
  }
});
