// JobStore and AuthStore behaviours, run by contract.int.test.ts against every backend.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NewJob, NewUnit, ResourceStore } from '../../src/store/index.js';
import type { Backend } from '../helpers/stores.js';
import type { Open } from './contract-helpers.js';

const T0 = 1_700_000_000_000;
const TTL = 3_600_000;

function job(id: string, extra: Partial<NewJob> = {}): NewJob {
  return { id, clientId: 'c1', request: '{}', transactionTime: T0, createdAt: T0, ttlMs: TTL, ...extra };
}

const units = (...phases: number[]): NewUnit[] =>
  phases.map((phase, i) => ({ phase, spec: `{"n":${i}}`, estimate: 10 }));

/** Lease everything runnable now, one at a time, returning `jobId/seq` keys. */
async function leaseAll(store: ResourceStore, owner: string, now: number): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const u = await store.jobs.leaseUnit(owner, now, 60_000);
    if (!u) return out;
    out.push(`${u.jobId}/${u.seq}`);
  }
}

export function jobContract(backend: Backend, open: Open): void {
  describe(`${backend.name} job store`, () => {
    test('a job with no units is completed at once and expires after its ttl', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('j'), []);
      const got = await store.jobs.getJob('j');
      assert.equal(got?.status, 'completed');
      assert.equal(got?.completedAt, T0);
      assert.equal(got?.expiresAt, T0 + TTL);
      assert.deepEqual(await store.jobs.jobsToReap(T0 + TTL + 1), ['j']);
      assert.deepEqual(await store.jobs.jobsToReap(T0 + TTL - 1), []);
    });

    test('units are leased in order, and a later phase only once the earlier one is finished', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('j'), units(0, 0, 1));
      assert.equal(await store.jobs.countJobs('c1', 'running'), 1);
      assert.equal(await store.jobs.countJobs(null, 'running'), 0);
      assert.deepEqual(await leaseAll(store, 'w1', T0), ['j/0', 'j/1']);
      const outcome = { status: 'done' as const, result: '{}', now: T0 + 5, ttlMs: TTL };
      assert.equal(await store.jobs.finishUnit({ jobId: 'j', seq: 0 }, 'w1', outcome), true);
      assert.deepEqual(await leaseAll(store, 'w1', T0), []);
      assert.equal(
        await store.jobs.finishUnit({ jobId: 'j', seq: 1 }, 'w1', { ...outcome, status: 'failed' }),
        true,
      );
      assert.deepEqual(await leaseAll(store, 'w1', T0), ['j/2']);
    });

    test('recentJobs lists unfinished jobs first, then the newest, up to the limit', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('old-running', { createdAt: T0 }), units(0));
      await store.jobs.createJob(job('done-1', { createdAt: T0 + 1 }), []);
      await store.jobs.createJob(job('done-2', { createdAt: T0 + 2 }), []);
      await store.jobs.createJob(job('new-running', { createdAt: T0 + 3, clientId: 'c2' }), units(0, 1));
      const all = await store.jobs.recentJobs(10);
      assert.deepEqual(
        all.map((j) => j.id),
        ['new-running', 'old-running', 'done-2', 'done-1'],
      );
      assert.equal(all[0]?.clientId, 'c2');
      assert.deepEqual(
        (await store.jobs.recentJobs(3)).map((j) => j.id),
        ['new-running', 'old-running', 'done-2'],
      );
    });

    test('unitsOfJobs reads the units of several jobs at once, by job and seq', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('b'), units(0, 1));
      await store.jobs.createJob(job('a'), units(0));
      await store.jobs.createJob(job('c'), units(0));
      assert.deepEqual(
        (await store.jobs.unitsOfJobs(['b', 'a'])).map((u) => `${u.jobId}/${u.seq}`),
        ['a/0', 'b/0', 'b/1'],
      );
      assert.deepEqual(await store.jobs.unitsOfJobs([]), []);
    });

    test('within a phase the largest unit is leased first', async (t) => {
      const store = await open(t);
      const sized = [5, 50, 20].map((estimate, i) => ({ phase: 0, spec: `{"n":${i}}`, estimate }));
      await store.jobs.createJob(job('j'), sized);
      assert.deepEqual(await leaseAll(store, 'w', T0), ['j/1', 'j/2', 'j/0']);
    });

    test('a planning unit replaces the units after it, only while it holds its lease', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('j'), units(0));
      assert.deepEqual(await leaseAll(store, 'w1', T0), ['j/0']);
      const plan = { jobId: 'j', seq: 0 };
      assert.equal(await store.jobs.addPlannedUnits(plan, 'w1', units(1, 1, 2)), true);
      // A planner that runs again (after a crash) leaves one plan, not two.
      assert.equal(await store.jobs.addPlannedUnits(plan, 'w1', units(1, 2)), true);
      assert.deepEqual(
        (await store.jobs.listUnits('j')).map((u) => [u.seq, u.phase, u.status]),
        [
          [0, 0, 'leased'],
          [1, 1, 'pending'],
          [2, 2, 'pending'],
        ],
      );
      assert.equal(await store.jobs.addPlannedUnits(plan, 'w2', units(1)), false);
      assert.equal((await store.jobs.listUnits('j')).length, 3);
      // The planned units wait for the planning unit.
      assert.deepEqual(await leaseAll(store, 'w1', T0), []);
      const outcome = { status: 'done' as const, result: '{"files":[]}', now: T0 + 5, ttlMs: TTL };
      assert.equal(await store.jobs.finishUnit(plan, 'w1', outcome), true);
      assert.equal((await store.jobs.getJob('j'))?.status, 'running');
      assert.deepEqual(await leaseAll(store, 'w1', T0), ['j/1']);
    });

    test('finishing the last unit completes the job with its expiry', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('j', { patients: ['p1', 'p2', 'p1'] }), units(0, 0));
      await leaseAll(store, 'w', T0);
      const outcome = { status: 'done' as const, result: '{"files":1}', now: T0 + 100, ttlMs: TTL };
      await store.jobs.finishUnit({ jobId: 'j', seq: 1 }, 'w', outcome);
      assert.equal((await store.jobs.getJob('j'))?.status, 'running');
      await store.jobs.finishUnit({ jobId: 'j', seq: 0 }, 'w', outcome);
      const done = await store.jobs.getJob('j');
      assert.equal(done?.status, 'completed');
      assert.equal(done?.expiresAt, T0 + 100 + TTL);
      const listed = await store.jobs.listUnits('j');
      assert.deepEqual(
        listed.map((u) => [u.seq, u.status, u.progress, u.result]),
        [
          [0, 'done', 10, '{"files":1}'],
          [1, 'done', 10, '{"files":1}'],
        ],
      );
      assert.deepEqual((await store.jobs.jobPatients('j')).sort(), ['p1', 'p2']);
    });

    test('a heartbeat extends the lease of its owner only, and stops when the job is cancelled', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('j'), units(0));
      const unit = (await store.jobs.leaseUnit('w1', T0, 1000))!;
      assert.equal(unit.leaseOwner, 'w1');
      assert.equal(unit.attempts, 1);
      assert.equal(await store.jobs.heartbeat(unit, 'w2', T0 + 5000, 3), false);
      assert.equal(await store.jobs.heartbeat(unit, 'w1', T0 + 5000, 3), true);
      assert.equal(await store.jobs.leaseUnit('w2', T0 + 2000, 1000), undefined);
      const [listed] = await store.jobs.listUnits('j');
      assert.equal(listed?.leaseExpires, T0 + 5000);
      assert.equal(listed?.progress, 3);
      await store.jobs.setJobStatus('j', 'cancelled', T0 + 10, 'stopped by client');
      assert.equal(await store.jobs.heartbeat(unit, 'w1', T0 + 6000, 4), false);
      const cancelled = await store.jobs.getJob('j');
      assert.equal(cancelled?.error, 'stopped by client');
      assert.deepEqual(await store.jobs.jobsToReap(T0), ['j']);
    });

    test('a failed job given an expiry is reaped after it, and keeps its expiry when failed again', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('f'), units(0));
      await store.jobs.setJobStatus('f', 'failed', T0 + 10, 'corrupt', T0 + 10 + TTL);
      const failed = await store.jobs.getJob('f');
      assert.equal(failed?.status, 'failed');
      assert.equal(failed?.expiresAt, T0 + 10 + TTL);
      assert.deepEqual(await store.jobs.jobsToReap(T0 + TTL), []);
      assert.deepEqual(await store.jobs.jobsToReap(T0 + 11 + TTL), ['f']);
      await store.jobs.setJobStatus('f', 'failed', T0 + 20, 'again');
      assert.equal((await store.jobs.getJob('f'))?.expiresAt, T0 + 10 + TTL);
    });

    test('an expired lease is taken over, and the first owner can no longer finish the unit', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('j'), units(0));
      const first = (await store.jobs.leaseUnit('w1', T0, 1000))!;
      assert.equal(await store.jobs.leaseUnit('w2', T0 + 999, 1000), undefined);
      const second = (await store.jobs.leaseUnit('w2', T0 + 1001, 1000))!;
      assert.equal(second.seq, first.seq);
      assert.equal(second.attempts, 2);
      const outcome = { status: 'done' as const, result: '{}', now: T0 + 1500, ttlMs: TTL };
      assert.equal(await store.jobs.finishUnit(first, 'w1', outcome), false);
      assert.equal(await store.jobs.finishUnit(second, 'w2', outcome), true);
      assert.equal((await store.jobs.getJob('j'))?.status, 'completed');
    });

    test('a released unit is leased again', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('j'), units(0));
      const unit = (await store.jobs.leaseUnit('w1', T0, 60_000))!;
      await store.jobs.releaseUnit(unit, 'w2');
      assert.equal(await store.jobs.leaseUnit('w2', T0, 60_000), undefined);
      await store.jobs.releaseUnit(unit, 'w1');
      const again = await store.jobs.leaseUnit('w2', T0, 60_000);
      assert.equal(again?.leaseOwner, 'w2');
    });

    test('concurrent leases never hand out one unit twice', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('a'), units(0, 0, 0));
      await store.jobs.createJob(job('b', { createdAt: T0 + 1 }), units(0, 0));
      const got = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.jobs.leaseUnit(`w${i}`, T0, 60_000)),
      );
      const leased = got.filter((u) => u !== undefined).map((u) => `${u.jobId}/${u.seq}`);
      assert.equal(new Set(leased).size, leased.length);
      assert.deepEqual([...leased, ...(await leaseAll(store, 'late', T0))].sort(), [
        'a/0',
        'a/1',
        'a/2',
        'b/0',
        'b/1',
      ]);
    });

    test('a job past the client’s cap of unfinished jobs is refused, and kept finished jobs do not count', async (t) => {
      const store = await open(t);
      const capped = (id: string, extra: Partial<NewJob> = {}): NewJob =>
        job(id, { maxUnfinished: 2, ...extra });
      assert.equal(await store.jobs.createJob(capped('a'), units(0)), true);
      assert.equal(await store.jobs.createJob(capped('b'), units(0)), true);
      assert.equal(await store.jobs.createJob(capped('c'), units(0)), false);
      assert.equal(await store.jobs.getJob('c'), undefined);
      // Another client has a cap of its own.
      assert.equal(await store.jobs.createJob(capped('d', { clientId: 'c2' }), units(0)), true);
      await store.jobs.setJobStatus('a', 'completed', T0);
      await store.jobs.setJobStatus('b', 'cancelled', T0);
      assert.equal(await store.jobs.createJob(capped('e'), units(0)), true);
      assert.equal(await store.jobs.createJob(capped('f'), units(0)), true);
      assert.equal(await store.jobs.createJob(capped('g'), units(0)), false);
    });

    test('parallel job creations never overshoot the cap', async (t) => {
      const store = await open(t);
      const made = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          store.jobs.createJob(job(`j${i}`, { maxUnfinished: 5 }), units(0)),
        ),
      );
      assert.equal(made.filter(Boolean).length, 5);
      assert.equal(await store.jobs.countJobs('c1', 'running'), 5);
    });

    test('leases go round-robin across clients, then to the oldest job of a client', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('a1'), units(0, 0, 0));
      await store.jobs.createJob(job('a2', { createdAt: T0 + 1 }), units(0, 0));
      await store.jobs.createJob(job('b1', { clientId: 'c2', createdAt: T0 + 2 }), units(0, 0));
      await store.jobs.createJob(job('c1', { clientId: null, createdAt: T0 + 3 }), units(0));
      const order: string[] = [];
      for (let i = 0; i < 8; i++) {
        // Each lease is finished at once, so "units leased now" is 0 for every client: the turn decides.
        const u = await store.jobs.leaseUnit('w', T0 + 10 + i, 60_000);
        if (!u) break;
        order.push(`${u.jobId}/${u.seq}`);
        const outcome = { status: 'done' as const, result: '{}', now: T0 + 10 + i, ttlMs: TTL };
        await store.jobs.finishUnit(u, 'w', outcome);
      }
      assert.deepEqual(order, ['a1/0', 'b1/0', 'c1/0', 'a1/1', 'b1/1', 'a1/2', 'a2/0', 'a2/1']);
    });

    test('a client with fewer units leased now is served first', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('a'), units(0, 0, 0, 0));
      await store.jobs.createJob(job('b', { clientId: 'c2', createdAt: T0 + 1 }), units(0, 0, 0));
      const got: string[] = [];
      for (let i = 0; i < 4; i++) got.push((await store.jobs.leaseUnit(`w${i}`, T0 + i, 60_000))!.jobId);
      assert.deepEqual(got, ['a', 'b', 'a', 'b']);
      assert.equal(await store.jobs.othersWaiting('c1', T0 + 5), false);
      // a holds two units and b one: b waits with fewer, so one of a's workers should go to it.
      await store.jobs.releaseUnit(
        (await store.jobs.listUnits('b')).find((u) => u.status === 'leased')!,
        'w1',
      );
      assert.equal(await store.jobs.othersWaiting('c1', T0 + 5), true);
      assert.equal(await store.jobs.othersWaiting('c2', T0 + 5), false);
    });

    test('a yielded unit keeps its checkpoint and progress, and the yield is not an attempt', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('j'), units(0));
      assert.equal((await store.jobs.getJob('j'))?.startedAt, null);
      const unit = (await store.jobs.leaseUnit('w1', T0, 60_000))!;
      assert.equal((await store.jobs.getJob('j'))?.startedAt, T0);
      assert.equal(unit.checkpoint, null);
      assert.equal(await store.jobs.yieldUnit(unit, 'w2', { spec: '{"segment":1}', progress: 7 }), false);
      assert.equal(await store.jobs.yieldUnit(unit, 'w1', { spec: '{"segment":1}', progress: 7 }), true);
      const again = (await store.jobs.leaseUnit('w2', T0 + 50, 60_000))!;
      assert.deepEqual(
        [again.seq, again.attempts, again.progress, again.checkpoint],
        [0, 1, 7, '{"segment":1}'],
      );
      assert.equal((await store.jobs.getJob('j'))?.startedAt, T0);
    });

    test('jobs ahead counts the same client’s earlier unfinished jobs only', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('a'), units(0));
      await store.jobs.createJob(job('b', { createdAt: T0 + 1 }), units(0));
      await store.jobs.createJob(job('x', { clientId: 'c2' }), units(0));
      await store.jobs.createJob(job('c', { createdAt: T0 + 2 }), units(0));
      await store.jobs.setJobStatus('a', 'completed', T0 + 3);
      const c = (await store.jobs.getJob('c'))!;
      assert.equal(await store.jobs.jobsAhead(c), 1);
      assert.equal(await store.jobs.jobsAhead((await store.jobs.getJob('x'))!), 0);
    });

    test('references are recorded once and paged by id; deleting a job removes its rows', async (t) => {
      const store = await open(t);
      await store.jobs.createJob(job('j'), units(0));
      await store.jobs.addRefs('j', [
        { type: 'Practitioner', id: 'b' },
        { type: 'Practitioner', id: 'a' },
        { type: 'Practitioner', id: 'a' },
        { type: 'Organization', id: 'o' },
      ]);
      await store.jobs.addRefs('j', [{ type: 'Practitioner', id: 'c' }]);
      assert.deepEqual(await store.jobs.refIds('j', 'Practitioner', '', 2), ['a', 'b']);
      assert.deepEqual(await store.jobs.refIds('j', 'Practitioner', 'b', 2), ['c']);
      await store.jobs.deleteJob('j');
      assert.equal(await store.jobs.getJob('j'), undefined);
      assert.deepEqual(await store.jobs.listUnits('j'), []);
      assert.deepEqual(await store.jobs.refIds('j', 'Practitioner', '', 10), []);
    });
  });

  describe(`${backend.name} auth store`, () => {
    test('keeps clients, rotates signing keys and remembers a jti until it expires', async (t) => {
      const store = await open(t);
      const client = {
        id: 'c1',
        name: 'one',
        jwksUrl: null,
        jwks: '{"keys":[]}',
        scope: 'system/*.rs',
        createdAt: 5,
      };
      await store.auth.addClient(client);
      assert.deepEqual(await store.auth.getClient('c1'), client);
      assert.deepEqual(await store.auth.listClients(), [client]);
      const key = (kid: string, createdAt: number) => ({
        kid,
        alg: 'RS384',
        privateJwk: '{}',
        publicJwk: '{}',
        createdAt,
        retiredAt: null,
      });
      await store.auth.addSigningKey(key('k1', 10), 0);
      await store.auth.addSigningKey(key('k2', 20), 0);
      assert.deepEqual(
        (await store.auth.listSigningKeys()).map((k) => [k.kid, k.retiredAt]),
        [
          ['k2', null],
          ['k1', 20],
        ],
      );
      await store.auth.addSigningKey(key('k3', 30), 25);
      assert.deepEqual(
        (await store.auth.listSigningKeys()).map((k) => k.kid),
        ['k3', 'k2'],
      );
      assert.equal(await store.auth.useJti('c1', 'j', 2_000, 1_000), true);
      assert.equal(await store.auth.useJti('c1', 'j', 2_000, 1_500), false);
      assert.equal(await store.auth.useJti('c2', 'j', 2_000, 1_500), true);
      assert.equal(await store.auth.useJti('c1', 'j', 4_000, 2_001), true, 'purged after expiry');
      assert.equal(await store.auth.removeClient('c1'), true);
      assert.equal(await store.auth.removeClient('c1'), false);
    });
  });
}
