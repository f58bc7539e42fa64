import { mkdir, readdir } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { StateFileError } from './errors.js';
import type { EventListener, FileRecord, FileResult } from './events.js';
import { downloadFile } from './download.js';
import type { DownloadOptions } from './download.js';
import { countsOf, runExportJob } from './export-runner.js';
import type { ExportSummary, RunOptions } from './export-runner.js';
import { HttpSession } from './http.js';
import type { TokenProvider } from './http.js';
import { buildKickoff, kickoff } from './kickoff.js';
import type { KickoffRequest } from './kickoff.js';
import { pollManifest } from './poller.js';
import type { PolledPage } from './poller.js';
import { SmartBackendAuth } from './smart-auth.js';
import type { SmartAuthOptions } from './smart-auth.js';
import { hasState, readState, writeState } from './state-file.js';
import type { ExportState } from './state-file.js';
import { DEFAULT_WAITS, systemClock } from './waits.js';
import type { Clock, WaitOptions } from './waits.js';

/** Settings of a client for one FHIR server. */
export interface BulkClientOptions {
  /** SMART Backend Services credentials; the token endpoint is discovered unless `tokenUrl` is set. */
  smart?: Omit<SmartAuthOptions, 'fhirBaseUrl' | 'onEvent'>;
  /** Another token source (used instead of `smart`). */
  tokenProvider?: TokenProvider;
  /** Overrides of DEFAULT_WAITS. */
  waits?: Partial<WaitOptions>;
  clock?: Clock;
  onEvent?: EventListener;
  /** An undici dispatcher to share; by default the client owns a connection pool until `close`. */
  dispatcher?: Dispatcher;
}

/** The HTTP session of a client of `baseUrl`: waits, clock, and SMART or given token auth. */
export function serverSession(
  baseUrl: string,
  options: BulkClientOptions,
  onEvent: EventListener,
): HttpSession {
  const plain = new HttpSession({
    waits: { ...DEFAULT_WAITS, ...options.waits },
    clock: options.clock ?? systemClock,
    onEvent,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
  let auth = options.tokenProvider;
  if (!auth && options.smart) {
    auth = new SmartBackendAuth({ ...options.smart, fhirBaseUrl: baseUrl, onEvent }, plain);
  }
  return plain.withAuth(auth);
}

/**
 * A Bulk Data client for one FHIR server (https://hl7.org/fhir/uv/bulkdata/export.html): kick-off,
 * polling, verified downloads, resume after a crash, and DELETE of the job.
 */
export class BulkDataClient {
  readonly baseUrl: string;
  private readonly http: HttpSession;
  private readonly onEvent: EventListener;

  constructor(baseUrl: string, options: BulkClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.onEvent = options.onEvent ?? (() => undefined);
    this.http = serverSession(this.baseUrl, options, this.onEvent);
  }

  /**
   * Start an export; resolves to the status URL.
   * @throws BulkClientError when the server refuses it.
   */
  kickoff(request: KickoffRequest, signal?: AbortSignal): Promise<string> {
    return kickoff(this.http, this.baseUrl, request, signal);
  }

  /** Poll a status URL and yield manifest pages until the last one (see pollManifest). */
  pollManifest(statusUrl: string, signal?: AbortSignal): AsyncGenerator<PolledPage> {
    return pollManifest(this.http, statusUrl, { onEvent: this.onEvent, ...(signal ? { signal } : {}) });
  }

  /** Download and verify one file (see downloadFile). */
  downloadFile(file: FileRecord, options: Omit<DownloadOptions, 'onEvent'>): Promise<FileResult> {
    return downloadFile(this.http, file, { ...options, onEvent: this.onEvent });
  }

  /**
   * Send DELETE to a status URL: cancels a running job, or tells the server the files were fetched (IG §7).
   * @throws BulkClientError when the server answers with an error.
   */
  async deleteJob(statusUrl: string, signal?: AbortSignal): Promise<void> {
    const res = await this.http.send({
      url: statusUrl,
      method: 'DELETE',
      headers: { accept: 'application/fhir+json' },
      authorize: true,
      retry: 'status',
      ...(signal ? { signal } : {}),
    });
    await res.body.dump();
    this.onEvent({ kind: 'deleted-job', statusUrl });
  }

  /**
   * Kick off an export and download it into `outDir`, keeping a state file there for `resume`.
   * @throws StateFileError when `outDir` is not empty; BulkClientError and its subclasses.
   */
  async export(request: KickoffRequest, options: RunOptions): Promise<ExportSummary> {
    if (hasState(options.outDir)) {
      throw new StateFileError(
        `${options.outDir} already holds an export: resume it or choose another folder`,
      );
    }
    await mkdir(options.outDir, { recursive: true });
    // Files already there would be taken for finished downloads, so a new export needs an empty folder.
    if ((await readdir(options.outDir)).length > 0) {
      throw new StateFileError(`${options.outDir} is not empty: choose an empty or new folder`);
    }
    this.onEvent({ kind: 'kickoff-request', url: buildKickoff(this.baseUrl, request).url });
    const statusUrl = await this.kickoff(request, options.signal);
    this.onEvent({ kind: 'kickoff', statusUrl });
    const state: ExportState = {
      version: 1,
      baseUrl: this.baseUrl,
      request,
      statusUrl,
      kickedOffAt: new Date().toISOString(),
      pollUrl: statusUrl,
      requiresAccessToken: true,
      files: [],
      verified: {},
    };
    await writeState(options.outDir, state);
    return this.finish(state, options);
  }

  /**
   * Continue the export whose state file is in `options.outDir`: no new kick-off, finished files are
   * not fetched again, partial files are resumed with Range.
   * @throws StateFileError when there is no export there, or it belongs to another server.
   */
  async resume(options: RunOptions): Promise<ExportSummary> {
    const state = await readState(options.outDir);
    if (state.baseUrl !== this.baseUrl) {
      throw new StateFileError(
        `the export in ${options.outDir} is from ${state.baseUrl}, not ${this.baseUrl}`,
      );
    }
    const counts = countsOf(state.files);
    this.onEvent({
      kind: 'resume',
      statusUrl: state.statusUrl,
      files: state.files.length,
      manifestComplete: state.pollUrl === undefined,
      resources: counts.newResources,
      uncounted: counts.newUncounted,
    });
    return this.finish(state, options);
  }

  /**
   * Cancel the export whose state file is in `outDir` (DELETE on its status URL).
   * @throws StateFileError when there is no export there.
   */
  async cancel(outDir: string, signal?: AbortSignal): Promise<void> {
    const state = await readState(outDir);
    await this.deleteJob(state.statusUrl, signal);
    state.jobDeleted = true;
    await writeState(outDir, state);
  }

  /** Close the connection pool. */
  close(): Promise<void> {
    return this.http.close();
  }

  private async finish(state: ExportState, options: RunOptions): Promise<ExportSummary> {
    const summary = await runExportJob(this.http, state, { ...options, onEvent: this.onEvent });
    if (summary.ok && options.cleanup && !state.jobDeleted) {
      await this.deleteJob(state.statusUrl, options.signal);
      state.jobDeleted = true;
      summary.jobDeleted = true;
      await writeState(options.outDir, state);
    }
    return summary;
  }
}
