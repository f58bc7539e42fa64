import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { serverSession } from './bulk-client.js';
import type { BulkClientOptions } from './bulk-client.js';
import type { EventListener } from './events.js';
import { BulkClientError } from './errors.js';
import { isAbort } from './http.js';
import type { HttpSession } from './http.js';
import {
  downloadViewFiles,
  kickoffViewExport,
  pollViewExport,
  prepareOutDir,
  resultFiles,
} from './view-export.js';
import type { ViewExportRequest, ViewExportOutcome, ViewFormat } from './view-export.js';

/** A `$viewdefinition-run` request: one inline view, its rows in one format. */
export interface ViewRunCall {
  view: unknown;
  format: ViewFormat;
  header?: boolean;
  limit?: number;
  /** A Patient id or `Patient/<id>`. */
  patient?: string;
}

const FHIR_JSON = 'application/fhir+json';

/**
 * A client of the SQL on FHIR v2 view operations of one server: `$viewdefinition-run` (synchronous,
 * streamed to a file) and `$viewdefinition-export` (kick-off, poll, 303 to the result, downloads).
 * Authentication and retries are those of {@link BulkDataClient}.
 */
export class ViewClient {
  readonly baseUrl: string;
  private readonly http: HttpSession;
  private readonly onEvent: EventListener;

  constructor(baseUrl: string, options: BulkClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.onEvent = options.onEvent ?? (() => undefined);
    this.http = serverSession(this.baseUrl, options, this.onEvent);
  }

  /**
   * Run a view on the server and stream its rows to `out` through `out.part`, renamed when complete.
   * @returns the bytes written
   * @throws BulkClientError with the server's OperationOutcome when it refuses the run
   */
  async run(request: ViewRunCall, out: string, signal?: AbortSignal): Promise<number> {
    const parameter: Record<string, unknown>[] = [
      { name: 'viewResource', resource: request.view },
      { name: '_format', valueCode: request.format },
    ];
    if (request.header !== undefined) parameter.push({ name: 'header', valueBoolean: request.header });
    if (request.limit !== undefined) parameter.push({ name: '_limit', valueInteger: request.limit });
    if (request.patient !== undefined) {
      const ref = request.patient.includes('/') ? request.patient : `Patient/${request.patient}`;
      parameter.push({ name: 'patient', valueReference: { reference: ref } });
    }
    const res = await this.http.send({
      url: `${this.baseUrl}/$viewdefinition-run`,
      method: 'POST',
      headers: { 'content-type': FHIR_JSON, accept: '*/*' },
      body: JSON.stringify({ resourceType: 'Parameters', parameter }),
      authorize: true,
      // A run only reads, so a lost request may be sent again.
      retry: 'all',
      ...(signal ? { signal } : {}),
    });
    const part = `${out}.part`;
    let bytes = 0;
    try {
      await pipeline(
        res.body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            bytes += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(part),
        ...(signal ? [{ signal }] : []),
      );
      await rename(part, out);
    } catch (err) {
      await rm(part, { force: true });
      throw err;
    }
    return bytes;
  }

  /**
   * Run `$viewdefinition-export` and download every file of every output into `outDir` (new or
   * empty) as `<name>.part<k>.<ext>`. When `signal` aborts, the job is cancelled on the server
   * (DELETE on its status URL: a view export has no state file to resume from) and no partial file
   * is left.
   * @throws StateFileError when `outDir` is not empty; BulkClientError or ExportFailedError
   */
  async export(
    request: ViewExportRequest,
    options: { outDir: string; parallel?: number; signal?: AbortSignal },
  ): Promise<ViewExportOutcome> {
    const { signal } = options;
    await prepareOutDir(options.outDir);
    const url = `${this.baseUrl}/$viewdefinition-export`;
    this.onEvent({ kind: 'kickoff-request', url });
    const statusUrl = await kickoffViewExport(this.http, this.baseUrl, request, signal);
    this.onEvent({ kind: 'kickoff', statusUrl });
    try {
      const { resultUrl, result } = await pollViewExport(this.http, statusUrl, {
        onEvent: this.onEvent,
        ...(signal ? { signal } : {}),
      });
      const files = resultFiles(result, request.format, resultUrl);
      this.onEvent({
        kind: 'manifest',
        url: resultUrl,
        final: true,
        files: files.length,
        newFiles: files.length,
        complete: true,
      });
      const written = await downloadViewFiles(this.http, files, {
        outDir: options.outDir,
        parallel: options.parallel ?? 4,
        onEvent: this.onEvent,
        ...(signal ? { signal } : {}),
      });
      const exportId = result.find((p) => p.name === 'exportId')?.valueString;
      return { statusUrl, resultUrl, files: written, ...(exportId !== undefined ? { exportId } : {}) };
    } catch (err) {
      // The caller sees the abort itself; whether the server took the cancel changes nothing for it.
      if (signal?.aborted) await this.cancel(statusUrl);
      throw err;
    }
  }

  /**
   * DELETE a view export's status URL, within a few seconds (the caller is leaving).
   * @returns true when the server accepted the cancel; false when it refused or did not answer (a job
   *   that already finished or is gone needs no cancel)
   */
  async cancel(statusUrl: string): Promise<boolean> {
    const timeout = AbortSignal.timeout(5_000);
    let res;
    try {
      res = await this.http.send({
        url: statusUrl,
        method: 'DELETE',
        headers: { accept: FHIR_JSON },
        authorize: true,
        retry: 'none',
        signal: timeout,
      });
    } catch (err) {
      if (err instanceof BulkClientError || isAbort(err, timeout)) return false;
      throw err;
    }
    await res.body.dump();
    this.onEvent({ kind: 'deleted-job', statusUrl });
    return true;
  }

  /** Close the connection pool. */
  close(): Promise<void> {
    return this.http.close();
  }
}
