import type { JobRecord, UnitRecord } from '../store/index.js';
import {
  CorruptJobError,
  decodeExportRequest,
  decodeUnitCheckpoint,
  decodeUnitResult,
  decodeUnitSpec,
} from './job-codec.js';
import { jobPercent } from './manifest.js';
import type { ExportRequest } from './types.js';
import type { FileKind, UnitSpec } from './unit-spec.js';

/** What an operator sees of a job's state: `queued` is a running job no worker has taken yet. */
export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** The kick-off parameters of a job, without patient ids (the dashboard shows counts only). */
export interface JobParameters {
  types: string[] | null;
  since: number | null;
  until: number | null;
  typeFilters: string[];
  elements: string[];
  /** How many patients a POST `patient` list named. */
  patients: number | null;
  includeAssociatedData: string[];
  organizeOutputBy: string | null;
  allowPartialManifests: boolean;
  lenient: boolean;
}

/** Progress figures, from the units' row counts and the files they wrote. */
export interface JobProgress {
  percent: number;
  /** Resources read so far (finished units count what they wrote). */
  resources: number;
  /** Resources the plan expects in all. */
  estimate: number;
  /** Bytes of the files written so far. */
  bytes: number;
  /** Resources per second since a worker first took the job; null before. */
  rate: number | null;
  /** Seconds left at that rate; null when unknown or finished. */
  etaSeconds: number | null;
  /** Seconds since the job started (to its end once finished); null while queued. */
  elapsedSeconds: number | null;
}

/** One unit as an operator sees it: what it reads, and which worker holds it. */
export interface UnitOverview {
  seq: number;
  phase: number;
  kind: UnitSpec['kind'];
  /** The resource type it reads, when it reads one. */
  type: string | null;
  status: UnitRecord['status'];
  attempts: number;
  progress: number;
  estimate: number;
  /** The lease owner while it holds a live lease (a worker thread or `fhirhose worker` process). */
  worker: string | null;
  leaseExpires: number | null;
}

/** One file a job wrote. */
export interface FileOverview {
  name: string;
  kind: FileKind;
  type: string;
  count: number;
  bytes: number;
}

/** A job with its parameters, progress, units, files and errors: metadata only, never resource content. */
export interface JobOverview {
  id: string;
  clientId: string | null;
  state: JobState;
  /** `unknown` when the job's stored request cannot be decoded. */
  level: ExportRequest['level'] | 'unknown';
  groupId: string | null;
  parameters: JobParameters;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  expiresAt: number | null;
  progress: JobProgress;
  units: UnitOverview[];
  files: FileOverview[];
  /** The job's failure, and a line per unit that failed for good. */
  errors: string[];
}

/**
 * The overview of one job from its stored record and units, at time `now`.
 * @param units - the job's units in seq order
 */
export function jobOverview(job: JobRecord, units: readonly UnitRecord[], now: number): JobOverview {
  try {
    return decodedOverview(job, units, now);
  } catch (err) {
    // One corrupt job must not blank the whole dashboard: show it as failed, with the reason.
    if (err instanceof CorruptJobError) return corruptOverview(job, err);
    throw err;
  }
}

function corruptOverview(job: JobRecord, err: CorruptJobError): JobOverview {
  return {
    id: job.id,
    clientId: job.clientId,
    state: 'failed',
    level: 'unknown',
    groupId: null,
    parameters: {
      types: null,
      since: null,
      until: null,
      typeFilters: [],
      elements: [],
      patients: null,
      includeAssociatedData: [],
      organizeOutputBy: null,
      allowPartialManifests: false,
      lenient: false,
    },
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    completedAt: job.completedAt,
    expiresAt: job.expiresAt,
    progress: {
      percent: 0,
      resources: 0,
      estimate: 0,
      bytes: 0,
      rate: null,
      etaSeconds: null,
      elapsedSeconds: null,
    },
    units: [],
    files: [],
    errors: [...(job.error === null ? [] : [job.error]), err.message],
  };
}

function decodedOverview(job: JobRecord, units: readonly UnitRecord[], now: number): JobOverview {
  const request = decodeExportRequest(job.request);
  const files = units.flatMap(unitFiles);
  const unitViews = units.map((u) => unitOverview(u, now));
  const errors = job.error === null ? [] : [job.error];
  for (const u of unitViews) {
    if (u.status === 'failed')
      errors.push(`unit ${u.seq} (${u.type ?? u.kind}) failed after ${u.attempts} attempts`);
  }
  return {
    id: job.id,
    clientId: job.clientId,
    state: stateOf(job),
    level: request.level,
    groupId: request.groupId ?? null,
    parameters: parametersOf(request),
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    completedAt: job.completedAt,
    expiresAt: job.expiresAt,
    progress: progressOf(job, units, files, now),
    units: unitViews,
    files,
    errors,
  };
}

function stateOf(job: JobRecord): JobState {
  if (job.status === 'running') return job.startedAt === null ? 'queued' : 'running';
  return job.status;
}

function parametersOf(r: ExportRequest): JobParameters {
  return {
    types: r.types ?? null,
    since: r.since ?? null,
    until: r.until ?? null,
    typeFilters: r.typeFilters,
    elements: r.elements,
    patients: r.patients?.length ?? null,
    includeAssociatedData: r.includeAssociatedData,
    organizeOutputBy: r.organizeOutputBy ?? null,
    allowPartialManifests: r.allowPartialManifests,
    lenient: r.lenient,
  };
}

function unitOverview(u: UnitRecord, now: number): UnitOverview {
  const spec = decodeUnitSpec(u.spec);
  const live = u.status === 'leased' && u.leaseExpires !== null && u.leaseExpires >= now;
  return {
    seq: u.seq,
    phase: u.phase,
    kind: spec.kind,
    type: 'type' in spec ? spec.type : null,
    status: u.status,
    attempts: u.attempts,
    progress: u.progress,
    estimate: u.estimate,
    worker: live ? u.leaseOwner : null,
    leaseExpires: live ? u.leaseExpires : null,
  };
}

/** The files of a finished unit, or those a unit that yielded part-way already committed. */
function unitFiles(u: UnitRecord): FileOverview[] {
  const written =
    u.result !== null
      ? decodeUnitResult(u.result).files
      : u.checkpoint !== null
        ? decodeUnitCheckpoint(u.checkpoint).files
        : [];
  return written.map((f) => ({ name: f.name, kind: f.kind, type: f.type, count: f.count, bytes: f.bytes }));
}

function writtenRows(u: UnitRecord): number {
  return unitFiles(u)
    .filter((f) => f.kind !== 'error')
    .reduce((n, f) => n + f.count, 0);
}

function progressOf(
  job: JobRecord,
  units: readonly UnitRecord[],
  files: readonly FileOverview[],
  now: number,
): JobProgress {
  let resources = 0;
  let estimate = 0;
  for (const u of units) {
    // The planning unit reads no resources; its estimate of 1 only weighs it in the percentage.
    if (decodeUnitSpec(u.spec).kind === 'plan') continue;
    estimate += u.estimate;
    // A finished unit counts what it wrote (filters may keep fewer rows than it read).
    resources += u.status === 'done' || u.status === 'failed' ? writtenRows(u) : u.progress;
  }
  const bytes = files.reduce((n, f) => n + f.bytes, 0);
  const finished = job.status !== 'running';
  const percent = job.status === 'completed' ? 100 : Math.min(jobPercent([...units]), 99);
  if (job.startedAt === null) {
    return { percent, resources, estimate, bytes, rate: null, etaSeconds: null, elapsedSeconds: null };
  }
  const end = finished ? (job.completedAt ?? now) : now;
  const elapsedSeconds = Math.max(0, (end - job.startedAt) / 1000);
  const rate = elapsedSeconds > 0 ? resources / elapsedSeconds : null;
  // From the share of the estimated rows read, not from `resources`: filters may drop rows already read.
  const etaSeconds = finished || percent === 0 ? null : (elapsedSeconds * (100 - percent)) / percent;
  return { percent, resources, estimate, bytes, rate, etaSeconds, elapsedSeconds };
}
