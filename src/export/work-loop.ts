import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { JobRecord, ResourceStore, UnitRecord } from '../store/index.js';
import type { FileStorage } from '../storage/index.js';
import type { ExportConfig } from './config.js';
import {
  CorruptJobError,
  decodeUnit,
  decodeUnitSpec,
  encodeUnitCheckpoint,
  encodeUnitResult,
} from './job-codec.js';
import type { DecodedUnit } from './job-codec.js';
import { logUnitDone } from './job-log.js';
import type { CompiledRequest, UnitContext, UnitRun } from './unit-runner.js';
import {
  compileRequest,
  runUnit,
  UnitStoppedError,
  UnitYieldedError,
  writeUnitFailure,
} from './unit-runner.js';

/** Dependencies of a worker loop. */
export interface WorkLoopDeps {
  store: ResourceStore;
  storage: FileStorage;
  config: ExportConfig;
  log: Logger;
  /** Resolves when there may be new work (a kick-off), or after a timeout. */
  waitForWork: (ms: number) => Promise<void>;
  signal: AbortSignal;
  /**
   * Called when a unit of `jobId` has finished: it may have planned units, opened the next phase, or
   * ended the job (held status polls look again).
   */
  onUnitDone?: (jobId: string) => void;
  now?: () => number;
  /**
   * True for a leased unit this loop gives, still leased, to a loop of another kind (a thread with
   * other memory limits): the loop ends with it unrun.
   */
  handOff?: (unit: UnitRecord) => boolean;
  /** A unit leased by another loop that handed it off, run first under that loop's lease. */
  handedOver?: { unit: UnitRecord; owner: string };
  /**
   * End the loop once no unit could be leased for this many ms (0: the first time none can be); it
   * waits for work meanwhile, so a short gap between units does not end it.
   */
  endWhenIdleMs?: number;
}

/** Why a loop ended: stopped by its signal, idle (with `endWhenIdleMs`), or handing a leased unit off. */
export type LoopEnd =
  { reason: 'stopped' } | { reason: 'idle' } | { reason: 'hand-off'; unit: UnitRecord; owner: string };

/** Lease and run units until `signal` aborts. One loop runs one unit at a time. */
export async function workLoop(deps: WorkLoopDeps): Promise<LoopEnd> {
  // Host and process in the owner let an operator (or a test) tell which process holds a lease.
  const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { job: JobRecord; compiled: CompiledRequest }>();
  if (deps.handedOver && !deps.signal.aborted) {
    await runLeased(deps, deps.handedOver.owner, deps.handedOver.unit, cache);
    deps.onUnitDone?.(deps.handedOver.unit.jobId);
  }
  let idleSince: number | undefined;
  while (!deps.signal.aborted) {
    const unit = await deps.store.jobs.leaseUnit(owner, now(), deps.config.leaseMs);
    if (!unit) {
      let wait = deps.config.idlePollMs;
      if (deps.endWhenIdleMs !== undefined) {
        idleSince ??= now();
        const left = idleSince + deps.endWhenIdleMs - now();
        if (left <= 0) return { reason: 'idle' };
        wait = Math.min(wait, left);
      }
      cache.clear();
      await deps.waitForWork(wait);
      continue;
    }
    idleSince = undefined;
    if (deps.handOff?.(unit)) return { reason: 'hand-off', unit, owner };
    await runLeased(deps, owner, unit, cache);
    deps.onUnitDone?.(unit.jobId);
  }
  return { reason: 'stopped' };
}

/** True for a unit of a view export (`$viewdefinition-export`); false when its spec does not decode. */
export function isViewUnit(unit: UnitRecord): boolean {
  try {
    return decodeUnitSpec(unit.spec).kind === 'view';
  } catch {
    // Run where it was leased: the normal path fails its job with the decode error.
    return false;
  }
}

async function runLeased(
  deps: WorkLoopDeps,
  owner: string,
  unit: UnitRecord,
  cache: Map<string, { job: JobRecord; compiled: CompiledRequest }>,
): Promise<void> {
  const { store, config } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ jobId: unit.jobId, unit: unit.seq });
  let entry = cache.get(unit.jobId);
  const job = entry?.job ?? (await store.jobs.getJob(unit.jobId));
  if (!job) return;
  // A resumed unit goes on counting from its checkpoint, so progress never goes back.
  let rows = unit.checkpoint === null ? 0 : unit.progress;
  let lastBeat = now();
  let sliceStart = now();
  const ctx: UnitContext = {
    store,
    storage: deps.storage,
    fileMaxBytes: config.fileMaxBytes,
    rowsPerUnit: config.rowsPerUnit,
    readPath: config.readPath,
    ...(config.baseUrl !== undefined ? { baseUrl: config.baseUrl } : {}),
    ...(config.rawRows === false ? { rawRows: false } : {}),
    savePlan: (units) => store.jobs.addPlannedUnits(unit, owner, units),
    progress: async (n) => {
      rows += n;
      if (deps.signal.aborted) return false;
      if (now() - lastBeat < config.heartbeatMs) return true;
      lastBeat = now();
      return store.jobs.heartbeat(unit, owner, lastBeat + config.leaseMs, rows);
    },
    // Asked once per slice, so a job alone on the server never pays for a checkpoint.
    yieldNow: async () => {
      if (now() - sliceStart < config.unitSliceMs) return false;
      sliceStart = now();
      return store.jobs.othersWaiting(job.clientId, sliceStart);
    },
    saveCheckpoint: (checkpoint) =>
      store.jobs.yieldUnit(unit, owner, { spec: encodeUnitCheckpoint(checkpoint), progress: rows }),
  };
  // Decoded once, before anything runs: the runner, each unit kind and the log all take this value.
  let decoded: DecodedUnit | undefined;
  try {
    decoded = decodeUnit(unit);
    if (!entry) {
      entry = { job, compiled: await compileRequest(store, job) };
      cache.set(unit.jobId, entry);
    }
    const run: UnitRun = { ctx, job: entry.job, compiled: entry.compiled, unit, ...decoded };
    log.debug({ attempt: unit.attempts, resumed: unit.checkpoint !== null }, 'unit started');
    const startedAt = now();
    const result = await runUnit(run);
    const finishedAt = now();
    const finished = await store.jobs.finishUnit(unit, owner, {
      status: 'done',
      result: encodeUnitResult(result),
      now: finishedAt,
      ttlMs: config.fileTtlMs,
    });
    if (finished) await logUnitDone(store, log, { job, spec: run.spec, result, rows, startedAt, finishedAt });
  } catch (err) {
    if (err instanceof UnitYieldedError) {
      log.debug({ rows }, 'unit checkpointed: another client is waiting');
      return;
    }
    if (err instanceof UnitStoppedError) {
      log.info('unit stopped: job cancelled, lease lost or shutting down');
      if (deps.signal.aborted) await store.jobs.releaseUnit(unit, owner);
      return;
    }
    // Only a decode failure leaves `decoded` unset: no retry can mend stored JSON.
    if (err instanceof CorruptJobError || decoded === undefined) {
      await failJob(deps, owner, unit, err);
      return;
    }
    await failUnit(deps, owner, { ctx, job, unit, spec: decoded.spec }, err);
  }
}

/**
 * Fail the job of a unit whose stored JSON (its spec or checkpoint, the job's request, another unit's
 * result) does not decode: every retry would fail the same way, so the job fails at once, with a
 * message the status URL answers as an OperationOutcome, and the unit is closed.
 */
async function failJob(deps: WorkLoopDeps, owner: string, unit: UnitRecord, err: unknown): Promise<void> {
  const { store } = deps;
  const now = (deps.now ?? Date.now)();
  deps.log
    .child({ jobId: unit.jobId, unit: unit.seq })
    .error({ err }, 'export failed: its stored state does not decode');
  const reason = err instanceof CorruptJobError ? `: ${err.message}` : '';
  const message = `the export's stored state is corrupt (unit ${unit.seq}${reason}); start a new export`;
  // Failed before the unit is closed, so closing the last unit cannot complete the job first. It
  // expires as a completed job would, so the reaper removes it and the files of its other units.
  if ((await store.jobs.getJob(unit.jobId))?.status === 'running') {
    await store.jobs.setJobStatus(unit.jobId, 'failed', now, message, now + deps.config.fileTtlMs);
  }
  await store.jobs.finishUnit(unit, owner, {
    status: 'failed',
    result: encodeUnitResult({ files: [] }),
    now,
    ttlMs: deps.config.fileTtlMs,
  });
}

async function failUnit(
  deps: WorkLoopDeps,
  owner: string,
  run: Pick<UnitRun, 'ctx' | 'job' | 'unit' | 'spec'>,
  err: unknown,
): Promise<void> {
  const { unit, job, spec } = run;
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ jobId: unit.jobId, unit: unit.seq });
  if (unit.attempts < deps.config.maxAttempts) {
    log.warn({ err, attempt: unit.attempts }, 'unit failed; will retry');
    await deps.store.jobs.releaseUnit(unit, owner);
    return;
  }
  log.error({ err, attempt: unit.attempts }, 'unit failed for good; reported in the manifest error');
  const result = await writeUnitFailure(run, `part of the export failed after ${unit.attempts} attempts`);
  const finishedAt = now();
  const finished = await deps.store.jobs.finishUnit(unit, owner, {
    status: 'failed',
    result: encodeUnitResult(result),
    now: finishedAt,
    ttlMs: deps.config.fileTtlMs,
  });
  if (finished) {
    const done = { job, spec, result, rows: 0, startedAt: finishedAt, finishedAt, failed: true };
    await logUnitDone(deps.store, log, done);
  }
}
