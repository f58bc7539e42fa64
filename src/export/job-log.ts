import type { Logger } from 'pino';
import type { JobRecord, ResourceStore } from '../store/index.js';
import { decodeUnitResult } from './job-codec.js';
import type { UnitResult, UnitSpec } from './unit-spec.js';

// The job events an operator follows at `info`: one line when a job is planned, one per unit done,
// one when the job completes (with its rate). Requests are logged at `debug` by the HTTP layer.

/** What a finished unit did, for the log. */
export interface UnitDone {
  job: JobRecord;
  /** The unit's spec, as decoded for its run. */
  spec: UnitSpec;
  result: UnitResult;
  rows: number;
  /** When this run of the unit started, ms since the epoch. */
  startedAt: number;
  /** The instant passed to `finishUnit`: the job's `completedAt` when this unit completed it. */
  finishedAt: number;
  /** The unit failed for good (already logged at error): only the job's completion is logged. */
  failed?: boolean;
}

/** Log a finished unit at info, and the job's plan or completion when this unit was either. */
export async function logUnitDone(store: ResourceStore, log: Logger, done: UnitDone): Promise<void> {
  const { job, spec, result, rows } = done;
  if (spec.kind === 'plan') {
    const units = await store.jobs.listUnits(job.id);
    log.info({ units: units.length - 1 }, 'export planned');
  } else if (!done.failed) {
    const type = 'type' in spec ? spec.type : undefined;
    const seconds = (done.finishedAt - done.startedAt) / 1000;
    const files = result.files.length;
    log.info({ kind: spec.kind, ...(type ? { type } : {}), rows, files, seconds }, 'unit done');
  }
  const after = await store.jobs.getJob(job.id);
  if (after?.status !== 'completed' || after.completedAt !== done.finishedAt) return;
  const totals = await jobTotals(store, job.id);
  const seconds = (after.completedAt - after.createdAt) / 1000;
  const rate = seconds > 0 ? Math.round(totals.resources / seconds) : undefined;
  log.info(
    { ...totals, seconds, ...(rate !== undefined ? { resourcesPerSecond: rate } : {}) },
    'export completed',
  );
}

/** Resources, files and bytes a job's units wrote, and how many units failed for good. */
async function jobTotals(
  store: ResourceStore,
  jobId: string,
): Promise<{ resources: number; files: number; bytes: number; failedUnits: number }> {
  const totals = { resources: 0, files: 0, bytes: 0, failedUnits: 0 };
  for (const unit of await store.jobs.listUnits(jobId)) {
    if (unit.status === 'failed') totals.failedUnits += 1;
    if (!unit.result) continue;
    for (const file of decodeUnitResult(unit.result).files) {
      totals.files += 1;
      totals.bytes += file.bytes;
      if (file.kind === 'output') totals.resources += file.count;
    }
  }
  return totals;
}
