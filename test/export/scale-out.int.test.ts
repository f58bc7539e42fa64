import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../../src/store/index.js';
import { freePort } from '../helpers/server.js';
import {
  exportedKeys,
  finish,
  killHard,
  kickoffSystem,
  populate,
  sleep,
  startFhirhose,
  waitUp,
} from '../helpers/processes.js';
import { backends } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp.js';

// Small enough for CI by default; FHIRHOSE_SCALE_RESOURCES=1000000 for the full-size run.
const RESOURCES = Number(process.env.FHIRHOSE_SCALE_RESOURCES ?? 100_000);
const postgres = backends().find((b) => b.name === 'PostgreSQL')!;

interface UnitRow {
  seq: number;
  status: string;
  lease_owner: string | null;
  attempts: number;
  progress: string;
  estimate: string;
}

/** Seconds from a job's kick-off to its completion, as the database recorded them. */
async function jobSeconds(db: string, statusUrl: string): Promise<string> {
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  try {
    const { rows } = await c.query<{ s: string }>(
      'SELECT (completed_at - created_at) / 1000.0 AS s FROM export_job WHERE id = $1',
      [statusUrl.slice(statusUrl.lastIndexOf('/') + 1)],
    );
    return Number(rows[0]?.s).toFixed(1);
  } finally {
    await c.end();
  }
}

/** The units of one job, read straight from the shared database. */
async function units(db: string, jobId: string): Promise<UnitRow[]> {
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  try {
    const { rows } = await c.query<UnitRow>(
      'SELECT seq, status, lease_owner, attempts, progress, estimate FROM export_unit WHERE job_id = $1',
      [jobId],
    );
    return rows;
  } finally {
    await c.end();
  }
}

/**
 * Wait until the job is at least 10% done, then SIGKILL a worker process that holds a lease on one of its
 * units (work loops name their process in the lease owner). A unit can finish between the query and
 * the signal; then that kill interrupted nothing, and another worker is tried (one is always left).
 * Returns what was killed, for messages.
 */
async function killWorkerMidUnit(db: string, jobId: string, workers: ChildProcess[]): Promise<string> {
  const alive = [...workers];
  const missed: string[] = [];
  for (let i = 0; i < 3000 && alive.length > 1; i++) {
    const rows = await units(db, jobId);
    const done = rows.reduce((n, u) => n + Number(u.progress), 0);
    const planned = rows.reduce((n, u) => n + Number(u.estimate), 0);
    assert.ok(
      rows.some((u) => u.status !== 'done'),
      `export finished before a worker could be killed mid-unit${missed.length ? ` (${missed.join('; ')})` : ''}`,
    );
    const leased = rows.filter((u) => u.status === 'leased' && u.lease_owner !== null);
    if (planned > 0 && done / planned >= 0.1) {
      for (const unit of leased) {
        const pid = Number(unit.lease_owner!.split(':').at(-2));
        const victim = alive.find((w) => w.pid === pid);
        if (!victim) continue;
        await killHard(victim);
        alive.splice(alive.indexOf(victim), 1);
        const what = `worker ${pid} in unit ${unit.seq} at ${Math.round((100 * done) / planned)}%`;
        const after = (await units(db, jobId)).find((u) => u.seq === unit.seq);
        if (after?.status === 'leased' && after.lease_owner === unit.lease_owner) return what;
        missed.push(`${what} had finished its unit`);
        break;
      }
    }
    await sleep(20);
  }
  throw new Error(`never killed a worker mid-unit after 10% progress (${missed.join('; ')})`);
}

test(
  'two API processes and three workers on one PostgreSQL database export everything once, even when a worker dies',
  { skip: postgres.skip, timeout: 20 * 60_000 },
  async (t) => {
    const dir = tempDir(t);
    const database = await postgres.create();
    const children: ChildProcess[] = [];
    // One hook, so every process is gone before its schema is dropped.
    t.after(async () => {
      await Promise.all(children.map(killHard));
      await database.drop();
    });
    const started = performance.now();
    const seconds = (): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;
    const store = await openStore(database.db);
    const total = await populate(store, RESOURCES, 23);
    await store.close();
    t.diagnostic(`loaded ${total} resources at ${seconds()}`);

    const shared = ['--db', database.db, '--export-dir', join(dir, 'exports')];
    const apis: string[] = [];
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      children.push(startFhirhose(['serve', '--no-workers', ...shared, '--port', String(port)]));
      apis.push(`http://127.0.0.1:${port}`);
    }
    const workers: ChildProcess[] = [];
    for (let i = 0; i < 3; i++) workers.push(startFhirhose(['worker', ...shared, '--threads', '1']));
    children.push(...workers);
    const [api1, api2] = apis as [string, string];
    await Promise.all(apis.map(waitUp));

    // Started on one API process, followed and downloaded through the other.
    const via2 = (url: string): string => url.replace(api1, api2);
    const firstStatus = await kickoffSystem(api1);
    const first = await finish(via2(firstStatus));
    t.diagnostic(`undisturbed export ran ${await jobSeconds(database.db, firstStatus)} s`);
    assert.ok(first.output.every((o) => o.url.startsWith(api2)));
    const undisturbed = await exportedKeys(first);
    assert.equal(undisturbed.size, total);
    t.diagnostic(`undisturbed export checked at ${seconds()}`);

    const status = await kickoffSystem(api1);
    const jobId = status.slice(status.lastIndexOf('/') + 1);
    const killed = await killWorkerMidUnit(database.db, jobId, workers);
    t.diagnostic(`killed ${killed} at ${seconds()}`);
    const disturbed = await exportedKeys(await finish(via2(status)));
    assert.equal(disturbed.size, total, `killed ${killed}`);
    for (const key of undisturbed) assert.ok(disturbed.has(key), `${key} missing after killing ${killed}`);
    const redone = (await units(database.db, jobId)).filter((u) => u.attempts > 1);
    assert.ok(redone.length > 0, `no unit was leased again after killing ${killed}`);
    t.diagnostic(`disturbed export ran ${await jobSeconds(database.db, status)} s`);
    t.diagnostic(`disturbed export checked at ${seconds()}, ${redone.length} unit(s) redone`);
  },
);
