import type { Logger } from 'pino';
import { InvalidRequestError, NotFoundError } from '../fhir/index.js';
import type { JobRecord, ResourceStore, UnitRecord } from '../store/index.js';
import type { TableFormat } from '../tables/index.js';
import type { Caller } from './authorize.js';
import type { ExportConfig } from './config.js';
import type { ExportService } from './export-service.js';
import type { OpenedFile, RangePicker } from './file-access.js';
import { decodeExportRequest } from './job-codec.js';
import { jobPercent, listedFiles } from './manifest.js';
import type { ExportRequest } from './types.js';
import { queueExportJob } from './queue-job.js';
import { tableExtension } from './view-request.js';
import type { ViewExportInput, ViewExportOptions } from './view-request.js';

/** What a status poll of a view export finds. */
export type ViewExportStatus =
  | {
      state: 'in-progress';
      /** No worker has taken a unit yet. */
      queued: boolean;
      percent: number;
      retryAfterSeconds: number;
      /** Epoch ms of the kick-off. */
      startTime: number;
      estimatedSecondsRemaining?: number;
    }
  | { state: 'finished' };

/** One view's files in a result. */
export interface ViewOutput {
  name: string;
  urls: string[];
}

/** The result of a finished view export. */
export type ViewExportResult =
  | {
      state: 'completed';
      jobId: string;
      format: TableFormat;
      clientTrackingId?: string;
      startTime: number;
      endTime: number;
      outputs: ViewOutput[];
    }
  | { state: 'failed'; message: string };

/** Dependencies of the view export service. */
export interface ViewExportServiceDeps {
  store: ResourceStore;
  /** The Bulk Data service: cancel and file checks go through its paths. */
  exports: ExportService;
  config: ExportConfig;
  log: Logger;
  /** Tell workers a job was accepted. */
  wake: () => void;
  /** Absolute URL of a view export file, by its public name. */
  fileUrl: (jobId: string, name: string) => string;
  now?: () => number;
}

/** A stored file of a finished view unit and the name clients know it by. */
interface NamedFile {
  view: number;
  type: string;
  stored: string;
  public: string;
}

/**
 * `$viewdefinition-export` jobs on the Bulk Data job engine: kick-off, status, result, cancel and
 * files. Jobs are export jobs whose request carries `view` (src/export/view-request.ts).
 */
export class ViewExportService {
  private readonly now: () => number;

  constructor(private readonly deps: ViewExportServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Accept a view export: resolve its patients, fix its snapshot and queue its planning.
   * @throws InvalidRequestError (expression `patient` or `group`) for an unknown patient or Group
   * @throws TooManyRequestsError when the client has too many unfinished jobs
   */
  async kickoff(input: ViewExportInput, clientId: string | null): Promise<{ jobId: string }> {
    const { store, config } = this.deps;
    const patients = await this.resolvePatients(input);
    const view: ViewExportOptions = {
      views: input.views,
      format: input.format,
      header: input.header,
      byPatients: patients !== undefined,
      ...(input.clientTrackingId !== undefined ? { clientTrackingId: input.clientTrackingId } : {}),
    };
    const request: ExportRequest = {
      level: 'system',
      requestUrl: input.requestUrl,
      outputFormat: 'application/fhir+ndjson',
      ...(input.since !== undefined ? { since: input.since } : {}),
      types: [...new Set(input.views.map((v) => v.resource))].sort(),
      typeFilters: [],
      elements: [],
      includeAssociatedData: [],
      allowPartialManifests: false,
      lenient: false,
      separateExportStatus: false,
      warnings: [],
      view,
    };
    const jobId = await queueExportJob({ store, config, now: this.now }, clientId, request, patients);
    this.deps.log.info({ jobId, clientId, views: input.views.length }, 'view export accepted');
    this.deps.wake();
    return { jobId };
  }

  /** The union of the `patient` ids and the `group` members, sorted; undefined when neither was sent. */
  private async resolvePatients(input: ViewExportInput): Promise<string[] | undefined> {
    if (input.patients.length === 0 && input.groups.length === 0) return undefined;
    const { store } = this.deps;
    const ids = new Set<string>();
    for (const id of input.patients) {
      if ((await store.read('Patient', id)).status !== 'found') {
        throw new InvalidRequestError(`patient Patient/${id} does not exist`, { expression: 'patient' });
      }
      ids.add(id);
    }
    for (const id of input.groups) {
      if ((await store.read('Group', id)).status !== 'found') {
        throw new InvalidRequestError(`group Group/${id} does not exist`, { expression: 'group' });
      }
      for (const member of await store.groupPatients(id)) ids.add(member);
    }
    return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** A view export job of this client, or NotFoundError (another client's job looks missing). */
  private async ownJob(jobId: string, clientId: string | null): Promise<JobRecord> {
    const job = await this.deps.exports.ownJob(jobId, clientId, 'view export');
    if (!decodeExportRequest(job.request).view) {
      throw new NotFoundError(`view export ${jobId} not found`);
    }
    return job;
  }

  /**
   * The state of a job: in progress with an estimate, or finished (the result URL answers).
   * @throws NotFoundError for an unknown, expired or cancelled job, or another client's
   */
  async status(jobId: string, caller: Caller): Promise<ViewExportStatus> {
    const job = await this.ownJob(jobId, caller.clientId);
    if (job.status !== 'running') return { state: 'finished' };
    const units = await this.deps.store.jobs.listUnits(jobId);
    // Until planning is done only the plan unit exists, and its 100% says nothing about the job.
    const planned = units.length > 1 || units.every((u) => u.status === 'done');
    const percent = planned ? Math.min(jobPercent(units), 99) : 0;
    const status: ViewExportStatus = {
      state: 'in-progress',
      queued: job.startedAt === null,
      percent,
      retryAfterSeconds: this.deps.config.retryAfterSeconds,
      startTime: job.createdAt,
    };
    if (job.startedAt !== null && percent > 0) {
      const elapsed = (this.now() - job.startedAt) / 1000;
      status.estimatedSecondsRemaining = Math.ceil((elapsed * (100 - percent)) / percent);
    }
    return status;
  }

  /**
   * The result of a finished job: each view's files the caller's scopes cover, or why it failed.
   * @throws NotFoundError for a job still running, unknown, expired or another client's
   */
  async result(jobId: string, caller: Caller): Promise<ViewExportResult> {
    const job = await this.ownJob(jobId, caller.clientId);
    if (job.status === 'running') throw new NotFoundError(`view export ${jobId} has not finished`);
    if (job.status === 'failed') return { state: 'failed', message: job.error ?? 'view export failed' };
    const units = await this.deps.store.jobs.listUnits(jobId);
    const failed = units.filter((u) => u.status === 'failed').length;
    // A table missing some of its rows would pass for a whole one: a unit that failed fails the job.
    if (failed > 0) {
      return { state: 'failed', message: `${failed} part(s) of the view export failed after retries` };
    }
    const view = decodeExportRequest(job.request).view!;
    const files = namedFiles(units, view);
    const outputs = view.views.map((v, i) => ({
      name: v.name,
      urls: files
        .filter((f) => f.view === i && (caller.access === undefined || caller.access.canRead(f.type)))
        .map((f) => this.deps.fileUrl(jobId, f.public)),
    }));
    const endTime = job.completedAt ?? this.now();
    return {
      state: 'completed',
      jobId,
      format: view.format,
      ...(view.clientTrackingId !== undefined ? { clientTrackingId: view.clientTrackingId } : {}),
      startTime: job.createdAt,
      endTime,
      outputs,
    };
  }

  /**
   * DELETE on the status URL: cancel a running job, or release a finished one and its files.
   * @throws NotFoundError for an unknown, expired or cancelled job, or another client's
   */
  async cancel(jobId: string, clientId: string | null): Promise<void> {
    await this.ownJob(jobId, clientId);
    await this.deps.exports.cancel(jobId, clientId);
  }

  /**
   * Check and open a file of a finished job by its public name, through the Bulk Data file checks
   * (owner, listed by a finished unit, scopes covering the view's type).
   * @throws NotFoundError for an unknown file, or a job that is not finished or not the caller's
   * @throws ForbiddenError when the scopes do not cover the view's resource type
   */
  async openFile(
    jobId: string,
    name: string,
    caller: Caller,
    pickRange?: RangePicker,
  ): Promise<OpenedFile & { format: TableFormat }> {
    const job = await this.ownJob(jobId, caller.clientId);
    const missing = new NotFoundError(`file ${name} not found in view export ${jobId}`);
    if (job.status !== 'completed') throw missing;
    const view = decodeExportRequest(job.request).view!;
    const units = await this.deps.store.jobs.listUnits(jobId);
    const file = namedFiles(units, view).find((f) => f.public === name);
    if (!file) throw missing;
    const opened = await this.deps.exports.openFile(jobId, file.stored, caller, pickRange);
    return { ...opened, format: view.format };
  }
}

/**
 * The files of a job's finished view units, numbered per view in unit order: `<name>.part<k>.<ext>`.
 * Units write in parallel, so a file's number is fixed only once every unit before it has finished.
 */
function namedFiles(units: UnitRecord[], view: ViewExportOptions): NamedFile[] {
  const ext = tableExtension(view.format);
  const parts = new Map<number, number>();
  const out: NamedFile[] = [];
  for (const listed of listedFiles(units)) {
    const { spec, file } = listed;
    if (spec.kind !== 'view' || file.kind !== 'output') continue;
    const k = (parts.get(spec.view) ?? 0) + 1;
    parts.set(spec.view, k);
    const name = view.views[spec.view]?.name ?? `view-${spec.view + 1}`;
    out.push({ view: spec.view, type: spec.type, stored: file.name, public: `${name}.part${k}.${ext}` });
  }
  return out;
}
