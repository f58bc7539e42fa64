import type { Logger } from 'pino';
import { ConflictError, InvalidRequestError, NotFoundError, TooManyRequestsError } from '../fhir/index.js';
import type { JobRecord, ResourceStore, UnitRecord } from '../store/index.js';
import type { FileStorage } from '../storage/index.js';
import type { Caller, ReadAccess } from './authorize.js';
import type { ExportConfig } from './config.js';
import { assertMayReadFile } from './file-access.js';
import type { OpenedFile, RangePicker } from './file-access.js';
import { manifestFileUrls } from './manifest-urls.js';
import { decodeExportRequest } from './job-codec.js';
import { queueExportJob } from './queue-job.js';
import type { Manifest } from './manifest.js';
import {
  buildManifest,
  finishedFiles,
  hasNextPage,
  jobPercent,
  listedFiles,
  pageReady,
  pageUnits,
} from './manifest.js';
import type { ManifestPage } from './manifest.js';
import type { ExportRequest, ExportWarning } from './types.js';
import { MAX_HELD_STATUS_POLLS, MAX_STATUS_WAIT_SECONDS, StatusWaiters } from './status-waiters.js';

/**
 * What a status poll finds; `heldMs` is how long a held poll (`Prefer: wait`) waited for its job, so
 * the time to answer it can be told from the hold.
 */
export type ExportStatus = { heldMs?: number } & (
  | {
      state: 'in-progress';
      percent: number;
      retryAfterSeconds: number;
      request: ExportRequest;
      /** allowPartialManifests: the first page, once its files are final. */
      partial?: Manifest;
      /**
       * Set while the job waits for a worker: the client's unfinished jobs created before it (other
       * clients' jobs share the workers round-robin, so they are not ahead of it in the same way).
       */
      queuedBehind?: number;
    }
  | { state: 'completed'; manifest: Manifest; expiresAt: number; request: ExportRequest }
  | { state: 'failed'; message: string; request: ExportRequest }
);

/** Dependencies of the export service. */
export interface ExportServiceDeps {
  store: ResourceStore;
  storage: FileStorage;
  config: ExportConfig;
  log: Logger;
  /** Tell workers a job was accepted. */
  wake: () => void;
  /** Absolute URL of manifest page `index` (partial manifests). */
  pageUrl: (jobId: string, index: number) => string;
  /** Absolute URL of a file, built from the public base URL. */
  fileUrl: (jobId: string, name: string) => string;
  /** Auth is on: file URLs on this server need the access token. */
  requiresAccessToken: boolean;
  /**
   * List pre-signed storage URLs valid this long in manifests instead of server URLs (the storage
   * must implement `signedUrl`). They are signed afresh each time a manifest is served.
   */
  presignedUrlSeconds?: number;
  /** Held status polls at once; default {@link MAX_HELD_STATUS_POLLS}. */
  maxHeldPolls?: number;
  now?: () => number;
}

/** The Bulk Data job lifecycle as seen by the API: kick-off, status, cancel, files. */
export class ExportService {
  private readonly lastPoll = new Map<string, number>();
  private readonly releasing = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly waiters: StatusWaiters;

  constructor(private readonly deps: ExportServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.waiters = new StatusWaiters({ maxHeld: deps.maxHeldPolls ?? MAX_HELD_STATUS_POLLS });
    if (deps.presignedUrlSeconds !== undefined && !deps.storage.signedUrl) {
      throw new TypeError(`pre-signed URLs need a storage that signs URLs, not ${deps.storage.describe()}`);
    }
  }

  /** Accept an export: validate it against the data, fix its transactionTime, and queue its planning. */
  async kickoff(request: ExportRequest, clientId: string | null): Promise<{ jobId: string }> {
    const { store, config } = this.deps;
    const patients = await this.resolvePatients(request);
    if (patients?.warnings.length) {
      // The job keeps what it covers: the patients left, and why the others were left out.
      request = {
        ...request,
        patients: patients.ids,
        warnings: [...request.warnings, ...patients.warnings],
      };
    }
    const jobId = await queueExportJob({ store, config, now: this.now }, clientId, request, patients?.ids);
    this.deps.log.info({ jobId, clientId, exportLevel: request.level }, 'export accepted');
    this.deps.wake();
    return { jobId };
  }

  /**
   * The patients a group or patient-list export covers, or undefined for every patient. A listed
   * patient that does not exist, or is not a member of the Group, fails the kick-off; under lenient
   * handling it is left out with a warning instead, and if none is left the export covers no patient
   * (an empty list, never "every patient").
   * @throws NotFoundError for an unknown Group
   * @throws InvalidRequestError (expression `patient`) for an unknown or non-member patient, unless lenient
   */
  private async resolvePatients(
    request: ExportRequest,
  ): Promise<{ ids: string[]; warnings: ExportWarning[] } | undefined> {
    const { store } = this.deps;
    let members: Set<string> | undefined;
    if (request.level === 'group') {
      const groupId = request.groupId as string;
      const group = await store.read('Group', groupId);
      if (group.status !== 'found')
        throw new NotFoundError(`Group/${groupId} not found`, { expression: 'Group' });
      const all = await store.groupPatients(groupId);
      if (!request.patients) return { ids: all, warnings: [] };
      members = new Set(all);
    }
    if (!request.patients) return undefined;
    const ids: string[] = [];
    const warnings: ExportWarning[] = [];
    for (const id of request.patients) {
      let problem: string | undefined;
      if (members) {
        if (!members.has(id)) problem = `patient Patient/${id} is not a member of Group/${request.groupId}`;
      } else if ((await store.read('Patient', id)).status !== 'found') {
        problem = `patient Patient/${id} does not exist`;
      }
      if (problem === undefined) ids.push(id);
      else if (!request.lenient) throw new InvalidRequestError(problem, { expression: 'patient' });
      else
        warnings.push({
          parameter: 'patient',
          message: `${problem}; left out (Prefer: handling=lenient)`,
          issueCode: 'not-found',
        });
    }
    if (request.lenient && ids.length === 0) {
      warnings.push({
        parameter: 'patient',
        message: 'no listed patient remains, so the export holds no patient data (Prefer: handling=lenient)',
        issueCode: 'not-found',
      });
    }
    return { ids, warnings };
  }

  /**
   * A job of this client that is neither cancelled nor expired; `label` names it in the errors.
   * @throws NotFoundError otherwise: another client's job looks missing (no existence leak)
   */
  async ownJob(jobId: string, clientId: string | null, label = 'export job'): Promise<JobRecord> {
    const job = await this.deps.store.jobs.getJob(jobId);
    if (!job || job.clientId !== clientId || job.status === 'cancelled') {
      throw new NotFoundError(`${label} ${jobId} not found`);
    }
    if (job.expiresAt !== null && job.expiresAt < this.now())
      throw new NotFoundError(`${label} ${jobId} has expired`);
    return job;
  }

  /**
   * The state of a job; its manifest lists only the files the caller's scopes cover. Polling much
   * faster than advertised is refused. With `waitSeconds` (`Prefer: wait`) a poll of a running job is
   * held until the job ends, is cancelled, or that long passes (at most {@link MAX_STATUS_WAIT_SECONDS});
   * when too many polls are held already, or the server is stopping, it is answered at once.
   * @throws NotFoundError for an unknown, expired or cancelled job, or another client's
   * @throws TooManyRequestsError when polling a running job too fast
   */
  async status(jobId: string, caller: Caller, waitSeconds = 0): Promise<ExportStatus> {
    let job = await this.ownJob(jobId, caller.clientId);
    const request = decodeExportRequest(job.request);
    // A view export answers at its own status URL, in its own shapes (view-export-service.ts).
    if (request.view) throw new NotFoundError(`export job ${jobId} not found`);
    if (job.status === 'running') {
      this.checkPace(jobId);
      if (waitSeconds > 0) {
        const start = performance.now();
        const seconds = Math.min(waitSeconds, MAX_STATUS_WAIT_SECONDS);
        // Read again whatever ended a wait: a cancelled job answers 404, as an unheld poll would.
        job = await this.waiters.holdWhileRunning(job, seconds, () => this.ownJob(jobId, caller.clientId));
        const heldMs = Math.round(performance.now() - start);
        return { ...(await this.describe(job, caller, request)), heldMs };
      }
    }
    return this.describe(job, caller, request);
  }

  /** What a poll answers for `job` as read: in progress, failed, or completed with its manifest. */
  private async describe(job: JobRecord, caller: Caller, request: ExportRequest): Promise<ExportStatus> {
    const jobId = job.id;
    const { access } = caller;
    const { config } = this.deps;
    if (job.status === 'running') {
      const units = await this.deps.store.jobs.listUnits(jobId);
      const percent = Math.min(jobPercent(units), 99);
      const status: ExportStatus = {
        state: 'in-progress',
        percent,
        retryAfterSeconds: config.retryAfterSeconds,
        request,
      };
      if (job.startedAt === null) status.queuedBehind = await this.deps.store.jobs.jobsAhead(job);
      const first = { index: 0, size: config.manifestPageUnits };
      if (request.allowPartialManifests && pageReady(units, first))
        status.partial = await this.manifest(job, units, { page: 0, access });
      return status;
    }
    this.lastPoll.delete(jobId);
    if (job.status === 'failed') return { state: 'failed', message: job.error ?? 'export failed', request };
    const units = await this.deps.store.jobs.listUnits(jobId);
    const page = request.allowPartialManifests ? 0 : undefined;
    const manifest = await this.manifest(job, units, { page, access });
    return { state: 'completed', manifest, expiresAt: job.expiresAt ?? this.now(), request };
  }

  /** The server is stopping: held polls were answered and no more are held. */
  get stopping(): boolean {
    return this.waiters.closed;
  }

  /** Status polls held right now. */
  get heldPolls(): number {
    return this.waiters.size;
  }

  /** A unit of `jobId` finished (a worker thread said so): its held polls look at the job again. */
  jobChanged(jobId: string): void {
    this.waiters.notify(jobId);
  }

  /** The server is stopping: answer every held poll now and hold no more. */
  stopWaiting(): void {
    this.waiters.close();
  }

  /** The manifest of a job, or one page of it, listing only the files `access` may read. */
  private async manifest(
    job: JobRecord,
    units: UnitRecord[],
    view: { page: number | undefined; access: ReadAccess | undefined },
  ): Promise<Manifest> {
    let page: ManifestPage | undefined;
    if (view.page !== undefined) {
      page = { index: view.page, size: this.deps.config.manifestPageUnits };
      if (hasNextPage(units, page)) page.nextUrl = this.deps.pageUrl(job.id, view.page + 1);
    }
    // Only listed files are signed: a pre-signed URL is a capability, so never one for a type the
    // token may not read.
    const files = finishedFiles(page ? pageUnits(units, page) : units, view.access);
    const urls = await manifestFileUrls(this.deps, job.id, files, this.now());
    return buildManifest(job, units, { ...urls, ...(page ? { page } : {}), access: view.access });
  }

  /**
   * A later manifest page (allowPartialManifests). It is final, and answered as such, once all of
   * its units have finished; until then the caller polls it like the status URL. It lists only the
   * files the caller's scopes cover.
   * @throws NotFoundError for an unknown page, job or another client's job
   */
  async manifestPage(
    jobId: string,
    caller: Caller,
    index: number,
  ): Promise<
    | { ready: false; retryAfterSeconds: number }
    | { ready: true; manifest: Manifest; expiresAt: number | null }
  > {
    const job = await this.ownJob(jobId, caller.clientId);
    const request = decodeExportRequest(job.request);
    const units = await this.deps.store.jobs.listUnits(jobId);
    const size = this.deps.config.manifestPageUnits;
    if (!request.allowPartialManifests || index < 1 || index * size >= units.length) {
      throw new NotFoundError(`manifest page ${index} of export ${jobId} not found`);
    }
    if (!pageReady(units, { index, size }))
      return { ready: false, retryAfterSeconds: this.deps.config.retryAfterSeconds };
    const manifest = await this.manifest(job, units, { page: index, access: caller.access });
    return { ready: true, manifest, expiresAt: job.expiresAt };
  }

  private checkPace(jobId: string): void {
    const now = this.now();
    const last = this.lastPoll.get(jobId);
    const minGapMs = (this.deps.config.retryAfterSeconds * 1000) / 4;
    if (last !== undefined && now - last < minGapMs) {
      throw new TooManyRequestsError(
        'polling faster than Retry-After advises',
        this.deps.config.retryAfterSeconds,
      );
    }
    this.lastPoll.set(jobId, now);
  }

  /**
   * DELETE on the status URL: cancel a running job, or release a finished one and its files. An
   * operator (the dashboard) cancels through here too, named in the log line; it may only cancel.
   * @throws NotFoundError for an unknown, expired or cancelled job, or another client's
   * @throws ConflictError when an operator asks to cancel a job that has finished
   */
  async cancel(jobId: string, clientId: string | null, operator?: string): Promise<void> {
    const job = await this.ownJob(jobId, clientId);
    this.lastPoll.delete(jobId);
    if (job.status === 'running') {
      // Workers see the status at their next heartbeat and stop; the reaper removes the files.
      await this.deps.store.jobs.setJobStatus(jobId, 'cancelled', this.now());
      this.deps.log.info({ jobId, clientId, ...(operator ? { operator } : {}) }, 'export cancelled');
      this.waiters.notify(jobId);
      return;
    }
    if (operator !== undefined) {
      throw new ConflictError(`export job ${jobId} has ${job.status}; only a running job can be cancelled`);
    }
    // Removing a large export's files takes a while (about half a second per GB on our machines), and
    // the client need not wait for it: the job is marked cancelled first, so every request finds it gone
    // at once, and the reaper finishes the removal if this process stops before it does.
    await this.deps.store.jobs.setJobStatus(jobId, 'cancelled', this.now());
    this.deps.log.info({ jobId }, 'export released by client');
    const removal: Promise<void> = this.remove(jobId)
      .catch((err: unknown) => this.deps.log.error({ err, jobId }, 'removing a released export failed'))
      .finally(() => this.releasing.delete(removal));
    this.releasing.add(removal);
  }

  /** Resolves once every removal begun by a client's DELETE has ended (before the store closes). */
  async settled(): Promise<void> {
    await Promise.all([...this.releasing]);
  }

  private async remove(jobId: string): Promise<void> {
    await this.deps.storage.removeJob(jobId);
    await this.deps.store.jobs.deleteJob(jobId);
  }

  /**
   * An operator cancels any client's running job, through the same path as that client's DELETE.
   * @param operator - who asked, for the log (`dashboard` and the token's client, or `password`)
   * @throws NotFoundError for an unknown or cancelled job
   * @throws ConflictError when the job has finished
   */
  async cancelAsOperator(jobId: string, operator: string): Promise<void> {
    const job = await this.deps.store.jobs.getJob(jobId);
    if (!job) throw new NotFoundError(`export job ${jobId} not found`);
    await this.cancel(jobId, job.clientId, operator);
  }

  /**
   * Checks and opens a file to download in one call, so no route can open a file it has not checked:
   * it must belong to a job of the caller's client, be listed by a finished unit, and hold only types
   * the caller's scopes cover (docs/export.md "Who may download which file").
   * @param pickRange - chooses the byte range from the file's size; default the whole file
   * @throws NotFoundError for another client's job, or a file not listed, not stored or expired
   * @throws ForbiddenError when the scopes do not cover a type the file holds
   */
  async openFile(
    jobId: string,
    name: string,
    caller: Caller,
    pickRange: RangePicker = () => undefined,
  ): Promise<OpenedFile> {
    const job = await this.ownJob(jobId, caller.clientId);
    // Files of finished units are final, so partial manifests may list them before the job completes.
    const listed = listedFiles(await this.deps.store.jobs.listUnits(jobId)).find((l) => l.file.name === name);
    if (!listed) throw new NotFoundError(`file ${name} not found in export ${jobId}`);
    assertMayReadFile(caller.access, listed);
    const { storage } = this.deps;
    const info = await storage.stat(jobId, name);
    if (!info) throw new NotFoundError(`file ${name} not found in export ${jobId}`);
    const range = pickRange(info.bytes);
    const stream = range === null ? null : storage.read(jobId, name, range);
    return { bytes: info.bytes, expiresAt: job.expiresAt, range, stream };
  }

  /** Remove expired jobs and cancelled ones (after their leases can no longer be held). */
  async reap(): Promise<number> {
    const ids = await this.deps.store.jobs.jobsToReap(this.now());
    for (const id of ids) {
      const job = await this.deps.store.jobs.getJob(id);
      if (
        job?.status === 'cancelled' &&
        job.completedAt !== null &&
        this.now() - job.completedAt < this.deps.config.leaseMs
      ) {
        continue;
      }
      await this.remove(id);
      this.deps.log.info({ jobId: id }, 'export expired and removed');
    }
    return ids.length;
  }
}
