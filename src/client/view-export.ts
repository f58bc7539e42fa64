import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BulkClientError, ExportFailedError, StateFileError, parseOutcome } from './errors.js';
import type { EventListener, FileRecord } from './events.js';
import { header } from './http.js';
import type { HttpSession } from './http.js';
import { PollPace } from './poll-pace.js';
import { waitBeforePoll } from './poller.js';
import { TaskPool } from './task-pool.js';

/** A table format of the SQL on FHIR view operations. */
export type ViewFormat = 'ndjson' | 'csv' | 'parquet' | 'json';

/** One view of an export: inline JSON, or a reference to a view stored on the server. */
export interface ExportedView {
  /** The output name; the server falls back to the view's own name. */
  name?: string;
  view?: unknown;
  /** `ViewDefinition/<id>` or a canonical `url|version`. */
  reference?: string;
}

/** A `$viewdefinition-export` request (SQL on FHIR v2; wire shapes of the draft operation). */
export interface ViewExportRequest {
  views: ExportedView[];
  format: ViewFormat;
  /** CSV header row; the server's default (true) when absent. */
  header?: boolean;
  /** Patient ids or `Patient/<id>` references. */
  patients?: string[];
  /** Group ids or `Group/<id>` references. */
  groups?: string[];
  since?: string;
  clientTrackingId?: string;
}

/** One file written. */
export interface ViewFile {
  name: string;
  path: string;
  url: string;
  bytes: number;
}

/** What a view export produced. */
export interface ViewExportOutcome {
  exportId?: string;
  statusUrl: string;
  resultUrl: string;
  files: ViewFile[];
}

interface Parameter {
  name?: string;
  valueString?: string;
  valueUri?: string;
  valueCode?: string;
  part?: Parameter[];
}

const FHIR_JSON = 'application/fhir+json';
// A server-chosen name becomes a file name: keep it to one plain path segment.
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

const reference = (type: string, value: string): string => (value.includes('/') ? value : `${type}/${value}`);

/** The kick-off Parameters body (wire shapes: one `view` per view, `_format`, filters). */
export function viewExportBody(request: ViewExportRequest): Record<string, unknown> {
  const parameter: Record<string, unknown>[] = request.views.map((v) => {
    const part: Record<string, unknown>[] = [];
    if (v.name !== undefined) part.push({ name: 'name', valueString: v.name });
    if (v.reference !== undefined)
      part.push({ name: 'viewReference', valueReference: { reference: v.reference } });
    else part.push({ name: 'viewResource', resource: v.view });
    return { name: 'view', part };
  });
  parameter.push({ name: '_format', valueCode: request.format });
  if (request.header !== undefined) parameter.push({ name: 'header', valueBoolean: request.header });
  for (const p of request.patients ?? [])
    parameter.push({ name: 'patient', valueReference: { reference: reference('Patient', p) } });
  for (const g of request.groups ?? [])
    parameter.push({ name: 'group', valueReference: { reference: reference('Group', g) } });
  if (request.since !== undefined) parameter.push({ name: '_since', valueInstant: request.since });
  if (request.clientTrackingId !== undefined) {
    parameter.push({ name: 'clientTrackingId', valueString: request.clientTrackingId });
  }
  return { resourceType: 'Parameters', parameter };
}

/**
 * Kick off `$viewdefinition-export`; resolves to the status URL (`Content-Location` of the 202).
 * @throws BulkClientError when the server refuses it (its OperationOutcome attached)
 */
export async function kickoffViewExport(
  http: HttpSession,
  baseUrl: string,
  request: ViewExportRequest,
  signal?: AbortSignal,
): Promise<string> {
  const url = `${baseUrl}/$viewdefinition-export`;
  const res = await http.send({
    url,
    method: 'POST',
    headers: { prefer: 'respond-async', accept: FHIR_JSON, 'content-type': FHIR_JSON },
    body: JSON.stringify(viewExportBody(request)),
    authorize: true,
    retry: 'status',
    accept: (s) => s === 202,
    ...(signal ? { signal } : {}),
  });
  await res.body.dump();
  const location = header(res, 'content-location');
  if (location === undefined) {
    throw new BulkClientError(`${url} answered 202 without Content-Location`, { status: 202, url });
  }
  return new URL(location, url).href;
}

/**
 * Poll a status URL until the job is done: 202 means wait (Retry-After, or sooner near the end from
 * `X-Progress`), and `303 See Other` leads to the result, which the session follows. Resolves to the
 * result URL and its Parameters.
 * @throws ExportFailedError when the job failed, was cancelled or is gone
 */
export async function pollViewExport(
  http: HttpSession,
  statusUrl: string,
  options: { signal?: AbortSignal; onEvent?: EventListener } = {},
): Promise<{ resultUrl: string; result: Parameter[] }> {
  const emit = options.onEvent ?? (() => undefined);
  const pace = new PollPace(http.waits.earlyPoll);
  for (let polls = 0; ; polls++) {
    let res;
    try {
      res = await http.send({
        url: statusUrl,
        headers: { accept: FHIR_JSON },
        authorize: true,
        retry: 'all',
        accept: (s) => s === 200 || s === 202,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if (err instanceof BulkClientError && err.status !== undefined) {
        throw new ExportFailedError(`view export failed: ${err.message}`, {
          status: err.status,
          ...(err.url !== undefined ? { url: err.url } : {}),
          ...(err.outcome ? { outcome: err.outcome } : {}),
          cause: err,
        });
      }
      throw err;
    }
    const progress = header(res, 'x-progress');
    if (progress) emit({ kind: 'progress', url: statusUrl, text: progress.slice(0, 100) });
    if (res.status === 200)
      return { resultUrl: res.url, result: resultParameters(await res.body.text(), res.url) };
    await res.body.dump();
    await waitBeforePoll(http, pace, res, polls, progress, emit, statusUrl, options.signal);
  }
}

function resultParameters(text: string, url: string): Parameter[] {
  let body: { resourceType?: unknown; parameter?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new ExportFailedError(`the result at ${url} is not JSON`, { status: 200, url });
  }
  if (body.resourceType === 'OperationOutcome') {
    const outcome = parseOutcome(text);
    throw new ExportFailedError(`view export failed`, { status: 200, url, ...(outcome ? { outcome } : {}) });
  }
  if (body.resourceType !== 'Parameters' || !Array.isArray(body.parameter)) {
    throw new ExportFailedError(`the result at ${url} is not a Parameters resource`, { status: 200, url });
  }
  return body.parameter as Parameter[];
}

/** The files of a result: per `output`, its `location`s in order, named `<name>.part<k>.<ext>`. */
export function resultFiles(result: Parameter[], format: ViewFormat, resultUrl: string): FileRecord[] {
  const files: FileRecord[] = [];
  const seen = new Set<string>();
  for (const output of result.filter((p) => p.name === 'output')) {
    const parts = output.part ?? [];
    const name = parts.find((p) => p.name === 'name')?.valueString;
    if (name === undefined || !SAFE_NAME.test(name) || seen.has(name)) {
      throw new ExportFailedError(`the result names an output '${String(name)}' that cannot be a file name`, {
        status: 200,
        url: resultUrl,
      });
    }
    seen.add(name);
    parts
      .filter((p) => p.name === 'location')
      .forEach((p, i) => {
        const url = p.valueUri ?? p.valueString;
        if (url === undefined) return;
        files.push({
          kind: 'output',
          type: name,
          url: new URL(url, resultUrl).href,
          path: `${name}.part${i + 1}.${format}`,
        });
      });
  }
  return files;
}

/**
 * Download every file into `outDir`, at most `parallel` at once: each streams to `<path>.part` and is
 * renamed once its last byte is on disk, so a name without `.part` is always a whole file.
 * @throws BulkClientError for a download that failed after the session's retries; the `.part` is removed
 */
export async function downloadViewFiles(
  http: HttpSession,
  files: FileRecord[],
  options: { outDir: string; parallel: number; signal?: AbortSignal; onEvent?: EventListener },
): Promise<ViewFile[]> {
  const emit = options.onEvent ?? (() => undefined);
  const done: ViewFile[] = [];
  const pool = new TaskPool(options.parallel);
  for (const file of files) {
    pool.run(async () => {
      const bytes = await downloadOne(http, file, options.outDir, emit, options.signal);
      done.push({ name: file.type ?? '', path: join(options.outDir, file.path), url: file.url, bytes });
    });
  }
  await pool.drain();
  return done.sort((a, b) => (a.path < b.path ? -1 : 1));
}

async function downloadOne(
  http: HttpSession,
  file: FileRecord,
  outDir: string,
  emit: EventListener,
  signal?: AbortSignal,
): Promise<number> {
  const path = join(outDir, file.path);
  const part = `${path}.part`;
  emit({ kind: 'file-start', file, resumeFrom: 0 });
  let bytes = 0;
  try {
    const res = await http.send({
      url: file.url,
      authorize: true,
      retry: 'all',
      ...(signal ? { signal } : {}),
    });
    await pipeline(
      res.body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          bytes += chunk.length;
          emit({ kind: 'file-bytes', file, bytes: chunk.length, fileBytes: bytes });
          yield chunk;
        }
      },
      createWriteStream(part),
      ...(signal ? [{ signal }] : []),
    );
    await rename(part, path);
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
  emit({ kind: 'file-done', file: { ...file, status: 'done', lines: 0, bytes, skipped: false } });
  return bytes;
}

/** Make `outDir`, which must be new or empty: a file already there could pass for a downloaded one. */
export async function prepareOutDir(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  if ((await readdir(outDir)).length > 0) {
    throw new StateFileError(`${outDir} is not empty: choose an empty or new folder`);
  }
}
