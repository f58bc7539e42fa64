import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildManifest,
  finishedFiles,
  hasNextPage,
  jobPercent,
  listedFiles,
  pageReady,
  pageUnits,
} from '../../src/export/manifest.js';
import type { ReadAccess } from '../../src/export/authorize.js';
import type { UnitFile, UnitSpec } from '../../src/export/unit-spec.js';
import type { JobRecord, UnitRecord, UnitStatus } from '../../src/store/index.js';
import { SYSTEM_REQUEST } from '../helpers/engine.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 6);

function job(request: Record<string, unknown>): JobRecord {
  return {
    id: 'job-1',
    clientId: null,
    status: 'running',
    request: JSON.stringify({ ...SYSTEM_REQUEST, requestUrl: 'http://h/$export', ...request }),
    transactionTime: T0,
    createdAt: T0,
    startedAt: T0,
    completedAt: null,
    expiresAt: null,
    error: null,
  };
}

function file(kind: UnitFile['kind'], type: string, name: string, extra: Partial<UnitFile> = {}): UnitFile {
  return { kind, type, name, count: 3, bytes: 30, ...extra };
}

let seq = 0;
function unit(status: UnitStatus, spec: UnitSpec, files: UnitFile[] | null, progress = 0): UnitRecord {
  return {
    jobId: 'job-1',
    seq: seq++,
    phase: 1,
    spec: JSON.stringify(spec),
    estimate: 10,
    status,
    attempts: 0,
    progress,
    leaseOwner: null,
    leaseExpires: null,
    result: files === null ? null : JSON.stringify({ files }),
    checkpoint: null,
  };
}

const fileUrl = (jobId: string, name: string): string => `http://h/$export-files/${jobId}/${name}`;
const patientsOnly: ReadAccess = { canRead: (t) => t === 'Patient', readableTypes: () => ['Patient'] };

const patients = unit('done', { kind: 'resources', type: 'Patient' }, [
  file('output', 'Patient', 'p.ndjson'),
]);
const observations = unit('done', { kind: 'resources', type: 'Observation' }, [
  file('output', 'Observation', 'o.1.ndjson'),
  file('output', 'Observation', 'o.2.ndjson'),
]);
const failed = unit('failed', { kind: 'resources', type: 'Condition' }, [
  file('error', 'OperationOutcome', 'e.ndjson'),
]);
const running = unit('leased', { kind: 'resources', type: 'Encounter' }, null, 4);
const deleted = unit('done', { kind: 'deleted', type: 'Patient' }, [file('deleted', 'Bundle', 'd.ndjson')]);

describe('listedFiles and finishedFiles', () => {
  test('list the files of finished units only, in unit order, each with its spec', () => {
    const listed = listedFiles([patients, running, observations, failed]);
    assert.deepEqual(
      listed.map((l) => l.file.name),
      ['p.ndjson', 'o.1.ndjson', 'o.2.ndjson', 'e.ndjson'],
    );
    assert.deepEqual(listed[1]?.spec, { kind: 'resources', type: 'Observation' });
  });

  test('a done unit with a result still pending lists nothing', () => {
    const done = { ...unit('done', { kind: 'resources', type: 'Patient' }, null) };
    assert.deepEqual(listedFiles([done]), []);
  });

  test('keep only the files the access may read; all of them with auth off', () => {
    const units = [patients, observations];
    assert.deepEqual(
      finishedFiles(units, patientsOnly).map((f) => f.name),
      ['p.ndjson'],
    );
    assert.equal(finishedFiles(units).length, 3);
  });
});

describe('manifest pages', () => {
  const units = [patients, observations, running];

  test('pageUnits slices by index and size', () => {
    assert.deepEqual(pageUnits(units, { index: 0, size: 2 }), [patients, observations]);
    assert.deepEqual(pageUnits(units, { index: 1, size: 2 }), [running]);
    assert.deepEqual(pageUnits(units, { index: 2, size: 2 }), []);
  });

  test('a page is ready once all its units finished, and has a next page while units remain', () => {
    assert.equal(pageReady(units, { index: 0, size: 2 }), true);
    assert.equal(pageReady(units, { index: 1, size: 2 }), false);
    assert.equal(hasNextPage(units, { index: 0, size: 2 }), true);
    assert.equal(hasNextPage(units, { index: 1, size: 2 }), false);
  });
});

describe('buildManifest', () => {
  test('splits files into output and error with absolute URLs and the job instant', () => {
    const m = buildManifest(job({}), [patients, observations, failed, running], {
      requiresAccessToken: true,
      fileUrl,
    });
    assert.deepEqual(m, {
      transactionTime: '2026-01-02T03:04:05.006Z',
      request: 'http://h/$export',
      requiresAccessToken: true,
      output: [
        { type: 'Patient', url: fileUrl('job-1', 'p.ndjson'), count: 3 },
        { type: 'Observation', url: fileUrl('job-1', 'o.1.ndjson'), count: 3 },
        { type: 'Observation', url: fileUrl('job-1', 'o.2.ndjson'), count: 3 },
      ],
      error: [{ type: 'OperationOutcome', url: fileUrl('job-1', 'e.ndjson'), count: 3 }],
    });
  });

  test('lists deleted only when _since was asked for', () => {
    const units = [patients, deleted];
    const without = buildManifest(job({}), units, { requiresAccessToken: false, fileUrl });
    assert.equal(without.deleted, undefined);
    const since = buildManifest(job({ since: T0 - 1000 }), units, { requiresAccessToken: false, fileUrl });
    assert.deepEqual(since.deleted, [{ type: 'Bundle', url: fileUrl('job-1', 'd.ndjson'), count: 3 }]);
  });

  test('organized output: no type on entries, outputOrganizedBy and continuesInFile set', () => {
    const blocks = unit('done', { kind: 'blocks', patients: ['a'], types: ['Patient'] }, [
      file('output', '', 'b.1.ndjson', { continuesIn: 'b.2.ndjson' }),
      file('output', '', 'b.2.ndjson'),
    ]);
    const m = buildManifest(job({ organizeOutputBy: 'Patient' }), [blocks], {
      requiresAccessToken: false,
      fileUrl,
    });
    assert.equal(m.outputOrganizedBy, 'Patient');
    assert.deepEqual(m.output, [
      { url: fileUrl('job-1', 'b.1.ndjson'), count: 3, continuesInFile: fileUrl('job-1', 'b.2.ndjson') },
      { url: fileUrl('job-1', 'b.2.ndjson'), count: 3 },
    ]);
  });

  test('a page lists only its units and links the next page; access filters entries', () => {
    const units = [patients, observations, failed];
    const m = buildManifest(job({}), units, {
      requiresAccessToken: true,
      fileUrl,
      page: { index: 0, size: 2, nextUrl: 'http://h/page/1' },
      access: patientsOnly,
    });
    assert.deepEqual(
      m.output.map((e) => e.url),
      [fileUrl('job-1', 'p.ndjson')],
    );
    assert.deepEqual(m.error, []);
    assert.deepEqual(m.link, [{ relation: 'next', url: 'http://h/page/1' }]);
  });
});

describe('jobPercent', () => {
  test('counts finished units whole and running units by progress, capped at their estimate', () => {
    assert.equal(jobPercent([patients, running]), 70);
    const over = unit('leased', { kind: 'resources', type: 'Patient' }, null, 99);
    assert.equal(jobPercent([over, running]), 70);
    assert.equal(jobPercent([]), 100);
  });
});
