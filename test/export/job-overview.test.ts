import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jobOverview } from '../../src/export/job-overview.js';
import type { JobRecord, UnitRecord } from '../../src/store/index.js';

const T0 = 1_700_000_000_000;

function job(extra: Partial<JobRecord> = {}): JobRecord {
  const request = {
    level: 'system',
    requestUrl: 'http://x/$export',
    outputFormat: 'application/fhir+ndjson',
    types: ['Patient', 'Observation'],
    typeFilters: [],
    elements: [],
    patients: ['p1', 'p2', 'p3'],
    includeAssociatedData: [],
    allowPartialManifests: false,
    lenient: false,
    separateExportStatus: false,
    warnings: [],
  };
  return {
    id: 'j1',
    clientId: 'c1',
    status: 'running',
    request: JSON.stringify(request),
    transactionTime: T0,
    createdAt: T0,
    startedAt: T0 + 1000,
    completedAt: null,
    expiresAt: null,
    error: null,
    ...extra,
  };
}

function unit(seq: number, extra: Omit<Partial<UnitRecord>, 'spec'> & { spec: object }): UnitRecord {
  return {
    jobId: 'j1',
    seq,
    phase: seq === 0 ? 0 : 1,
    estimate: 100,
    status: 'pending',
    attempts: 0,
    progress: 0,
    leaseOwner: null,
    leaseExpires: null,
    result: null,
    checkpoint: null,
    ...extra,
    spec: JSON.stringify(extra.spec),
  };
}

const files = (...f: [string, string, number, number][]) =>
  JSON.stringify({
    files: f.map(([name, type, count, bytes]) => ({ kind: 'output', type, name, count, bytes })),
  });

describe('jobOverview', () => {
  test('sums resources, bytes, rate and ETA from finished and running units', () => {
    const units = [
      unit(0, { spec: { kind: 'plan' }, estimate: 1, status: 'done', result: '{"files":[]}' }),
      unit(1, {
        spec: { kind: 'resources', type: 'Patient' },
        status: 'done',
        result: files(['p.ndjson', 'Patient', 90, 9000]),
      }),
      unit(2, {
        spec: { kind: 'resources', type: 'Observation' },
        status: 'leased',
        progress: 50,
        leaseOwner: 'w-1',
        leaseExpires: T0 + 60_000,
        attempts: 1,
      }),
    ];
    const view = jobOverview(job(), units, T0 + 11_000);
    assert.equal(view.state, 'running');
    // 90 written by the finished unit (not its estimate of 100), 50 read by the running one.
    assert.equal(view.progress.resources, 140);
    assert.equal(view.progress.estimate, 200);
    assert.equal(view.progress.bytes, 9000);
    assert.equal(view.progress.elapsedSeconds, 10);
    assert.equal(view.progress.rate, 14);
    // 151 of 201 weighted rows: 75% after 10 s leaves 10 * 25 / 75 s.
    assert.equal(view.progress.percent, 75);
    assert.ok(Math.abs((view.progress.etaSeconds ?? 0) - 10 / 3) < 1e-9);
    assert.deepEqual(
      view.units.map((u) => [u.kind, u.type, u.worker]),
      [
        ['plan', null, null],
        ['resources', 'Patient', null],
        ['resources', 'Observation', 'w-1'],
      ],
    );
    assert.deepEqual(view.files, [
      { name: 'p.ndjson', kind: 'output', type: 'Patient', count: 90, bytes: 9000 },
    ]);
  });

  test('shows patient lists as a count, never the ids', () => {
    const view = jobOverview(job(), [], T0);
    assert.equal(view.parameters.patients, 3);
    assert.ok(!JSON.stringify(view).includes('p2'));
  });

  test('a running job no worker took yet is queued, with no rate or ETA', () => {
    const view = jobOverview(
      job({ startedAt: null }),
      [unit(0, { spec: { kind: 'plan' }, estimate: 1 })],
      T0,
    );
    assert.equal(view.state, 'queued');
    assert.equal(view.progress.rate, null);
    assert.equal(view.progress.etaSeconds, null);
    assert.equal(view.progress.elapsedSeconds, null);
  });

  test('an expired lease names no worker', () => {
    const u = unit(1, {
      spec: { kind: 'resources', type: 'Patient' },
      status: 'leased',
      leaseOwner: 'w-dead',
      leaseExpires: T0 - 1,
    });
    assert.equal(jobOverview(job(), [u], T0).units[0]?.worker, null);
  });

  test('a completed job is at 100% with its elapsed time to completion; failures are listed', () => {
    const units = [
      unit(1, {
        spec: { kind: 'resources', type: 'Patient' },
        status: 'failed',
        attempts: 3,
        result: '{"files":[]}',
      }),
    ];
    const done = jobOverview(job({ status: 'completed', completedAt: T0 + 5000 }), units, T0 + 99_000);
    assert.equal(done.progress.percent, 100);
    assert.equal(done.progress.elapsedSeconds, 4);
    assert.equal(done.progress.etaSeconds, null);
    assert.deepEqual(done.errors, ['unit 1 (Patient) failed after 3 attempts']);
    const failed = jobOverview(job({ status: 'failed', error: 'disk full' }), [], T0);
    assert.equal(failed.state, 'failed');
    assert.deepEqual(failed.errors, ['disk full']);
  });

  test('a job whose stored state cannot be decoded shows as failed with the reason, not an exception', () => {
    const corrupt = jobOverview(job({ request: '{"level":' }), [], T0 + 5000);
    assert.equal(corrupt.state, 'failed');
    assert.equal(corrupt.level, 'unknown');
    assert.equal(corrupt.errors.length, 1);
    assert.match(corrupt.errors[0]!, /not JSON/);
    const badUnit = { ...unit(0, { spec: {} }), spec: '{"kind":"resou' };
    const withBadUnit = jobOverview(job({ error: 'boom' }), [badUnit], T0 + 5000);
    assert.equal(withBadUnit.state, 'failed');
    assert.deepEqual(withBadUnit.errors[0], 'boom');
    assert.equal(withBadUnit.errors.length, 2);
  });
});
