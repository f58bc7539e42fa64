import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { ExportService } from '../../src/export/export-service.js';
import type { Caller, ReadAccess } from '../../src/export/authorize.js';
import type { ExportConfig } from '../../src/export/config.js';
import { decodeExportRequest, decodeUnitSpec } from '../../src/export/job-codec.js';
import type { ExportRequest } from '../../src/export/types.js';
import { makeGroup, makeObservation, makePatient } from '../helpers/builders.js';
import { SYSTEM_REQUEST, drain, engine } from '../helpers/engine.js';
import type { Engine } from '../helpers/engine.js';

type T = Parameters<typeof engine>[0];

/** An engine with patients p1..p3 (an Observation for p1) and Group g1 of p1 and p2, and its service. */
async function setUp(t: T, config: Partial<ExportConfig> = {}) {
  const e = engine(t, config);
  await e.store.ingest([
    makePatient('p1'),
    makePatient('p2'),
    makePatient('p3'),
    makeObservation('o1', 'p1'),
    makeGroup('g1', ['Patient/p1', 'Patient/p2']),
  ]);
  let wakes = 0;
  const service = new ExportService({
    store: e.store,
    storage: e.storage,
    config: e.config,
    log: e.log,
    wake: () => void wakes++,
    pageUrl: (jobId, index) => `https://x.test/page/${jobId}/${index}`,
    fileUrl: (jobId, name) => `https://x.test/files/${jobId}/${name}`,
    requiresAccessToken: true,
    now: e.clock.now,
  });
  return { e, service, wakes: () => wakes };
}

/** A token's read access to these types only. */
function reads(...types: string[]): ReadAccess {
  return { canRead: (type) => types.includes(type), readableTypes: () => types };
}

const C1: Caller = { clientId: 'c1' };
const patientIds = async (e: Engine, jobId: string) => e.store.jobs.jobPatients(jobId);

/** Kick off a system export for client c1 and run it to the end. */
async function finishedJob(e: Engine, service: ExportService, request: Partial<ExportRequest> = {}) {
  const { jobId } = await service.kickoff({ ...SYSTEM_REQUEST, ...request }, 'c1');
  await drain(e);
  return jobId;
}

describe('ExportService', () => {
  test('kickoff stores a running job with one plan unit, stamped by its clock, and wakes the workers', async (t) => {
    const { e, service, wakes } = await setUp(t);
    const { jobId } = await service.kickoff(SYSTEM_REQUEST, 'c1');
    const job = await e.store.jobs.getJob(jobId);
    assert.equal(job?.status, 'running');
    assert.equal(job?.clientId, 'c1');
    assert.equal(job?.createdAt, e.clock.now());
    assert.equal(job?.startedAt, null);
    assert.deepEqual(decodeExportRequest(job!.request), SYSTEM_REQUEST);
    const units = await e.store.jobs.listUnits(jobId);
    assert.deepEqual(
      units.map((u) => [u.phase, decodeUnitSpec(u.spec)]),
      [[0, { kind: 'plan' }]],
    );
    assert.equal(wakes(), 1);
  });

  test("refuses a kick-off past the client's unfinished-job limit, asking to retry later", async (t) => {
    const { service, wakes } = await setUp(t, { maxQueuedJobsPerClient: 2, retryAfterSeconds: 3 });
    await service.kickoff(SYSTEM_REQUEST, 'c1');
    await service.kickoff(SYSTEM_REQUEST, 'c1');
    await assert.rejects(service.kickoff(SYSTEM_REQUEST, 'c1'), {
      code: 'FHIRHOSE_ERR_TOO_MANY_REQUESTS',
      retryAfterSeconds: 15,
    });
    // The limit is per client.
    await service.kickoff(SYSTEM_REQUEST, 'c2');
    assert.equal(wakes(), 3);
  });

  test("fixes a Group export to the Group's members, and answers an unknown Group as not found", async (t) => {
    const { e, service } = await setUp(t);
    const group: ExportRequest = { ...SYSTEM_REQUEST, level: 'group', groupId: 'g1' };
    const { jobId } = await service.kickoff(group, 'c1');
    assert.deepEqual((await patientIds(e, jobId)).sort(), ['p1', 'p2']);
    await assert.rejects(service.kickoff({ ...group, groupId: 'nope' }, 'c1'), {
      code: 'FHIRHOSE_ERR_NOT_FOUND',
    });
  });

  test('refuses a listed patient outside the Group, or leaves it out with a warning under lenient handling', async (t) => {
    const { e, service } = await setUp(t);
    const group: ExportRequest = { ...SYSTEM_REQUEST, level: 'group', groupId: 'g1', patients: ['p1', 'p3'] };
    await assert.rejects(service.kickoff(group, 'c1'), { code: 'FHIRHOSE_ERR_INVALID_REQUEST' });
    const { jobId } = await service.kickoff({ ...group, lenient: true }, 'c1');
    assert.deepEqual(await patientIds(e, jobId), ['p1']);
    const stored = decodeExportRequest((await e.store.jobs.getJob(jobId))!.request);
    assert.deepEqual(stored.patients, ['p1']);
    assert.deepEqual(
      stored.warnings.map((w) => [w.parameter, w.issueCode]),
      [['patient', 'not-found']],
    );
  });

  test('under lenient handling, a patient list with no patient left covers no patient, never all', async (t) => {
    const { e, service } = await setUp(t);
    const request: ExportRequest = {
      ...SYSTEM_REQUEST,
      level: 'patient',
      patients: ['ghost'],
      lenient: true,
    };
    const { jobId } = await service.kickoff(request, 'c1');
    assert.deepEqual(await patientIds(e, jobId), []);
    const stored = decodeExportRequest((await e.store.jobs.getJob(jobId))!.request);
    assert.equal(stored.warnings.length, 2);
  });

  test("answers another client's job as not found, as if it did not exist", async (t) => {
    const { service } = await setUp(t);
    const { jobId } = await service.kickoff(SYSTEM_REQUEST, 'c1');
    await assert.rejects(service.status(jobId, { clientId: 'c2' }), { code: 'FHIRHOSE_ERR_NOT_FOUND' });
    await assert.rejects(service.cancel(jobId, 'c2'), { code: 'FHIRHOSE_ERR_NOT_FOUND' });
    await assert.rejects(service.openFile(jobId, 'x', { clientId: null }), {
      code: 'FHIRHOSE_ERR_NOT_FOUND',
    });
  });

  test('refuses polls faster than a quarter of Retry-After, and answers once the clock has moved on', async (t) => {
    const { e, service } = await setUp(t, { retryAfterSeconds: 2 });
    const { jobId } = await service.kickoff(SYSTEM_REQUEST, 'c1');
    const first = await service.status(jobId, C1);
    assert.equal(first.state, 'in-progress');
    assert.equal(first.state === 'in-progress' && first.queuedBehind, 0);
    e.clock.advance(499);
    await assert.rejects(service.status(jobId, C1), {
      code: 'FHIRHOSE_ERR_TOO_MANY_REQUESTS',
      retryAfterSeconds: 2,
    });
    e.clock.advance(1);
    assert.equal((await service.status(jobId, C1)).state, 'in-progress');
  });

  test('tells a queued job how many of its own client’s jobs are ahead of it', async (t) => {
    const { e, service } = await setUp(t);
    await service.kickoff(SYSTEM_REQUEST, 'c1');
    e.clock.advance(1);
    await service.kickoff(SYSTEM_REQUEST, 'c2');
    e.clock.advance(1);
    const { jobId } = await service.kickoff(SYSTEM_REQUEST, 'c1');
    const status = await service.status(jobId, C1);
    assert.equal(status.state === 'in-progress' && status.queuedBehind, 1);
  });

  test("completes with a manifest of the finished units' files, listing only the types the token reads", async (t) => {
    const { e, service } = await setUp(t);
    const jobId = await finishedJob(e, service);
    const all = await service.status(jobId, C1);
    assert.equal(all.state, 'completed');
    if (all.state !== 'completed') return;
    assert.equal(all.expiresAt, e.clock.now() + e.config.fileTtlMs);
    assert.deepEqual(all.manifest.output.map((o) => o.type).sort(), ['Group', 'Observation', 'Patient']);
    assert.ok(all.manifest.output.every((o) => o.url.startsWith(`https://x.test/files/${jobId}/`)));
    assert.equal(all.manifest.requiresAccessToken, true);
    const some = await service.status(jobId, { clientId: 'c1', access: reads('Patient') });
    assert.deepEqual(some.state === 'completed' && some.manifest.output.map((o) => o.type), ['Patient']);
  });

  test('a job past its expiry is not found', async (t) => {
    const { e, service } = await setUp(t);
    const jobId = await finishedJob(e, service);
    e.clock.advance(e.config.fileTtlMs + 1);
    await assert.rejects(service.status(jobId, C1), { code: 'FHIRHOSE_ERR_NOT_FOUND' });
  });

  test('openFile opens a listed file whole or in a range, and opens nothing for an unsatisfiable range', async (t) => {
    const { e, service } = await setUp(t);
    const jobId = await finishedJob(e, service, { types: ['Patient'] });
    const done = await service.status(jobId, C1);
    const name = done.state === 'completed' ? done.manifest.output[0]!.url.split('/').pop()! : '';
    const whole = await service.openFile(jobId, name, C1);
    const body = await text(whole.stream!);
    assert.equal(whole.bytes, Buffer.byteLength(body));
    assert.equal(body.trim().split('\n').length, 3);
    assert.equal(whole.expiresAt, e.clock.now() + e.config.fileTtlMs);
    const part = await service.openFile(jobId, name, C1, (bytes) => ({ start: 1, end: bytes - 2 }));
    assert.equal(await text(part.stream!), body.slice(1, -1));
    const none = await service.openFile(jobId, name, C1, () => null);
    assert.equal(none.range, null);
    assert.equal(none.stream, null);
  });

  test('openFile refuses a file its job does not list, and one of a type the token may not read', async (t) => {
    const { e, service } = await setUp(t);
    const jobId = await finishedJob(e, service, { types: ['Patient'] });
    await assert.rejects(service.openFile(jobId, '../engine.db', C1), { code: 'FHIRHOSE_ERR_NOT_FOUND' });
    const done = await service.status(jobId, C1);
    const name = done.state === 'completed' ? done.manifest.output[0]!.url.split('/').pop()! : '';
    await assert.rejects(service.openFile(jobId, name, { clientId: 'c1', access: reads('Observation') }), {
      code: 'FHIRHOSE_ERR_FORBIDDEN',
    });
  });

  test('cancel marks a running job cancelled, after which it is not found', async (t) => {
    const { e, service } = await setUp(t);
    const { jobId } = await service.kickoff(SYSTEM_REQUEST, 'c1');
    await service.cancel(jobId, 'c1');
    const job = await e.store.jobs.getJob(jobId);
    assert.equal(job?.status, 'cancelled');
    assert.equal(job?.completedAt, e.clock.now());
    await assert.rejects(service.status(jobId, C1), { code: 'FHIRHOSE_ERR_NOT_FOUND' });
  });

  test('DELETE on a finished job removes it and its files; an operator may only cancel a running one', async (t) => {
    const { e, service } = await setUp(t);
    const kept = await finishedJob(e, service);
    await assert.rejects(service.cancelAsOperator(kept, 'dashboard'), { code: 'FHIRHOSE_ERR_CONFLICT' });
    assert.ok(existsSync(join(e.root, kept)));
    await service.cancel(kept, 'c1');
    // Gone for the client at once; the files go in the background.
    await assert.rejects(service.status(kept, C1), { code: 'FHIRHOSE_ERR_NOT_FOUND' });
    await service.settled();
    assert.equal(await e.store.jobs.getJob(kept), undefined);
    assert.equal(existsSync(join(e.root, kept)), false);
  });

  test('reap removes expired jobs at once, and cancelled ones only after a lease length', async (t) => {
    const { e, service } = await setUp(t, { leaseMs: 15_000 });
    const expired = await finishedJob(e, service);
    e.clock.advance(e.config.fileTtlMs + 1);
    const { jobId: cancelled } = await service.kickoff(SYSTEM_REQUEST, 'c1');
    await service.cancel(cancelled, 'c1');
    await service.reap();
    assert.equal(await e.store.jobs.getJob(expired), undefined);
    assert.equal(existsSync(join(e.root, expired)), false);
    // A worker may still hold a lease on the cancelled job's units: its rows stay for now.
    assert.equal((await e.store.jobs.getJob(cancelled))?.status, 'cancelled');
    e.clock.advance(15_000);
    await service.reap();
    assert.equal(await e.store.jobs.getJob(cancelled), undefined);
  });
});
