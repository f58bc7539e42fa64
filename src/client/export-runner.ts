import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { downloadFile, verifyExisting } from './download.js';
import { readServerErrors } from './error-outcomes.js';
import type { ServerErrors } from './error-outcomes.js';
import type { EventListener, FileRecord, FileResult } from './events.js';
import type { HttpSession } from './http.js';
import {
  DEFAULT_MANIFEST_REFRESHES,
  ManifestRefresher,
  entriesOf,
  matchFiles,
  pageOf,
  recordExpires,
} from './manifest-refresh.js';
import { pollManifest } from './poller.js';
import type { PolledPage } from './poller.js';
import type { VerifyMode } from './ndjson-verifier.js';
import { localPath, StateWriter } from './state-file.js';
import type { ExportState } from './state-file.js';
import { TaskPool } from './task-pool.js';

/** How to run an export into a folder. */
export interface RunOptions {
  outDir: string;
  /** Downloads at once (default 4). */
  parallel?: number;
  /** Send DELETE for the job once every file is downloaded and verified (IG §7). */
  cleanup?: boolean;
  /** Offer gzip for downloads (default true). */
  gzip?: boolean;
  /** Manifest refreshes for expired file URLs one run makes at most (default 3; IG F5). */
  manifestRefreshes?: number;
  /** A file whose lines differ from its manifest `count` fails (default: kept with a warning). */
  strict?: boolean;
  /** How closely downloaded lines are checked (default `lines`; `full` adds the JSON grammar). */
  verify?: VerifyMode;
  /** Issues of the error files kept as text in the summary (default 20; all are counted). */
  serverIssues?: number;
  signal?: AbortSignal;
}

/** The outcome of an export. */
export interface ExportSummary {
  statusUrl: string;
  transactionTime?: string;
  requiresAccessToken: boolean;
  files: FileResult[];
  /** True when every file was downloaded and verified. */
  ok: boolean;
  /** Resources in `output` files. */
  resources: number;
  bytes: number;
  /** Output resources per manifest type (organized output counts under `*`). */
  byType: Record<string, number>;
  jobDeleted: boolean;
  /** Files kept although their lines differ from the manifest `count` (failed ones included). */
  countMismatches: number;
  /** The OperationOutcome issues of the error files on disk; set by the runner, not by `summarize`. */
  serverErrors?: ServerErrors;
}

/** Add the new files of a page to the state, and take fresh URLs for files it listed before; returns the new. */
function absorbPage(state: ExportState, page: PolledPage, known: Set<string>): FileRecord[] {
  const m = page.manifest;
  state.transactionTime ??= m.transactionTime;
  state.requiresAccessToken = m.requiresAccessToken;
  if (m.outputOrganizedBy) state.outputOrganizedBy = m.outputOrganizedBy;
  recordExpires(state, page.url, page.expires);
  const entries = entriesOf(m);
  // A server that signs URLs anew on every GET lists a file again under a new URL: not a new file.
  const earlier = state.files.filter((f) => pageOf(state, f) === page.url);
  const renewed = matchFiles(earlier, entries, false);
  for (const [record, entry] of renewed) {
    record.url = entry.url;
    known.add(entry.url);
  }
  const listed = new Set([...renewed.values()]);
  const added: FileRecord[] = [];
  for (const { kind, file: entry } of entries) {
    if (listed.has(entry) || known.has(entry.url)) continue;
    known.add(entry.url);
    const record: FileRecord = {
      kind,
      url: entry.url,
      path: localPath(state, kind, entry.type),
      page: page.url,
    };
    if (entry.type !== undefined) record.type = entry.type;
    if (entry.count !== undefined) record.count = entry.count;
    state.files.push(record);
    added.push(record);
  }
  if (page.final) {
    if (m.next) state.pollUrl = m.next;
    else delete state.pollUrl;
  }
  return added;
}

/**
 * The order to start downloads in: most resources first (the manifest's `count`; files without one
 * last), so that the biggest file does not start last and finish alone while the other slots idle.
 * Stable, so files of equal count keep manifest order.
 */
export function largestFirst(files: readonly FileRecord[]): FileRecord[] {
  return [...files].sort((a, b) => (b.count ?? -1) - (a.count ?? -1));
}

/** The sum of the manifest counts of output files, and how many output files have none. */
export function countsOf(files: readonly FileRecord[]): { newResources: number; newUncounted: number } {
  let newResources = 0;
  let newUncounted = 0;
  for (const f of files) {
    if (f.kind !== 'output') continue;
    if (f.count === undefined) newUncounted++;
    else newResources += f.count;
  }
  return { newResources, newUncounted };
}

/** Summarise the results, in manifest order. */
export function summarize(state: ExportState, results: Map<string, FileResult>): ExportSummary {
  const files = state.files.map(
    (f): FileResult =>
      results.get(f.path) ?? {
        ...f,
        status: 'failed',
        lines: 0,
        bytes: 0,
        skipped: false,
        error: { code: 'FHIRHOSE_ERR_CLIENT_HTTP', message: 'not downloaded' },
      },
  );
  const byType: Record<string, number> = {};
  let resources = 0;
  for (const f of files) {
    if (f.kind !== 'output') continue;
    resources += f.lines;
    byType[f.type ?? '*'] = (byType[f.type ?? '*'] ?? 0) + f.lines;
  }
  const summary: ExportSummary = {
    statusUrl: state.statusUrl,
    requiresAccessToken: state.requiresAccessToken,
    files,
    ok: state.pollUrl === undefined && files.every((f) => f.status === 'done'),
    resources,
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    byType,
    jobDeleted: state.jobDeleted === true,
    countMismatches: files.filter((f) => f.countMismatch !== undefined).length,
  };
  if (state.transactionTime !== undefined) summary.transactionTime = state.transactionTime;
  return summary;
}

/**
 * Drive a kicked-off export to the end: poll the manifest pages, download each file as soon as it is
 * listed (bounded parallelism), skip files a previous run finished, and keep the state file current.
 * @throws ExportFailedError when the job fails, and the signal's reason when it aborts.
 */
export async function runExportJob(
  http: HttpSession,
  state: ExportState,
  options: RunOptions & { onEvent?: EventListener },
): Promise<ExportSummary> {
  const { outDir, onEvent } = options;
  const writer = new StateWriter(outDir, state);
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const results = new Map<string, FileResult>();
  const pool = new TaskPool(options.parallel ?? 4);
  const known = new Set(state.files.map((f) => f.url));
  const refresher = new ManifestRefresher(http, state, {
    max: options.manifestRefreshes ?? DEFAULT_MANIFEST_REFRESHES,
    known,
    persist: () => writer.flush(),
    signal,
    ...(onEvent ? { onEvent } : {}),
  });

  const fetchFile = async (file: FileRecord): Promise<void> => {
    const recorded = state.verified[file.path];
    const onDisk = existsSync(join(outDir, file.path));
    let result: FileResult;
    if (onDisk && recorded) result = { ...file, status: 'done', ...recorded, skipped: true };
    else if (onDisk)
      result = await verifyExisting(file, outDir, {
        strict: options.strict === true,
        ...(options.verify ? { verify: options.verify } : {}),
      });
    else
      result = await refresher.download(file, (f) =>
        downloadFile(http, f, {
          outDir,
          authorize: state.requiresAccessToken,
          signal,
          onEvent,
          ...(options.gzip !== undefined ? { gzip: options.gzip } : {}),
          ...(options.strict ? { strict: true } : {}),
          ...(options.verify ? { verify: options.verify } : {}),
        }),
      );
    if (options.strict && result.status === 'done' && result.countMismatch) {
      // Recorded by an earlier run without --strict: this run's rule decides.
      result = {
        ...result,
        status: 'failed',
        error: { code: 'FHIRHOSE_ERR_CLIENT_VERIFY', message: result.countMismatch.message },
      };
    }
    results.set(file.path, result);
    if (result.status === 'done') {
      state.verified[file.path] = {
        lines: result.lines,
        bytes: result.bytes,
        ...(result.countMismatch ? { countMismatch: result.countMismatch } : {}),
      };
      writer.touch();
      onEvent?.({ kind: 'file-done', file: result });
    } else {
      onEvent?.({ kind: 'file-failed', file: result });
    }
  };

  for (const file of largestFirst(state.files)) pool.run(() => fetchFile(file));
  if (state.pollUrl) {
    try {
      for await (const page of pollManifest(http, state.pollUrl, { signal, onEvent })) {
        const added = absorbPage(state, page, known);
        const total = page.manifest.output.length + page.manifest.deleted.length + page.manifest.error.length;
        onEvent?.({
          kind: 'manifest',
          url: page.url,
          final: page.final,
          files: total,
          newFiles: added.length,
          ...countsOf(added),
          complete: page.final && page.manifest.next === undefined,
        });
        // Names must be durable before their .part files appear, so a resumed run maps URLs the same way.
        await writer.flush();
        for (const file of largestFirst(added)) pool.run(() => fetchFile(file));
      }
    } catch (err) {
      controller.abort(err);
      await pool.drain().catch(() => undefined);
      await writer.flush();
      throw err;
    }
  }
  try {
    await pool.drain();
  } finally {
    await writer.flush();
  }
  const summary = summarize(state, results);
  summary.serverErrors = await readServerErrors(outDir, summary.files, options.serverIssues);
  return summary;
}
