import { readdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { chunkBytesFor, preparedEvents } from './ingest-source.js';
import { addSummary, loadJsonFile } from './json-file-load.js';
import type { PreparedBatch } from './prepared-batch.js';
import type { IngestSummary, ResourceStore } from './types.js';

/** A line, Bundle entry or whole file that was not loaded, and why. */
export interface LoadProblem {
  file: string;
  /** 1-based line number (NDJSON), or 0 for a Bundle entry or a whole file. */
  line: number;
  /** 0-based index in `Bundle.entry`, for a Bundle entry. */
  entry?: number;
  reason: string;
}

/** A problem as one line of text: `file:line: reason`, `file entry[i]: reason` or `file: reason`. */
export function describeProblem(problem: LoadProblem): string {
  const { file, line, entry, reason } = problem;
  const where = entry !== undefined ? `${file} entry[${entry}]` : line > 0 ? `${file}:${line}` : file;
  return `${where}: ${reason}`;
}

/** The outcome of a load. */
export interface LoadReport {
  files: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  /** Problems reported: NDJSON lines, Bundle entries, and whole files (a damaged gzip file is one). */
  rejected: number;
  seconds: number;
}

/** Options for `loadPaths`. */
export interface LoadOptions {
  /** At most this many resources per batch (default 50,000)... */
  batchSize?: number;
  /** ...and about this many bytes of JSON per batch, NDJSON read three quarters of it at a time (default 4 MiB). */
  batchBytes?: number;
  /**
   * Batches are committed together once they hold this many bytes of JSON (default 64 MiB), where
   * the store can (SQLite; PostgreSQL commits each batch); one batch per transaction at `batchBytes` or less.
   */
  transactionBytes?: number;
  /** Threads that parse NDJSON while this one writes (default: one per core but the writer's, 1 to 4). */
  workers?: number;
  onProblem?: (problem: LoadProblem) => void;
  /** Called after each batch with the running totals (resources counted once committed). */
  onProgress?: (report: LoadReport) => void;
}

const LOADABLE = /\.(ndjson|jsonl|json)(\.gz)?$/;

/** Expand files and folders into the loadable files below them, sorted by name. */
export async function listLoadable(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const info = await stat(path);
    if (info.isDirectory()) {
      const names = (await readdir(path)).sort();
      out.push(...(await listLoadable(names.map((n) => join(path, n)).filter((p) => LOADABLE.test(p)))));
    } else {
      out.push(path);
    }
  }
  return out;
}

/**
 * Load NDJSON (plain or gzip) and Bundle files into the store. Bad lines and Bundle entries are
 * reported and the good ones loaded; each is checked by `checkResource`, as a REST write is. A gzip
 * file is inflated once to check it before it is loaded, and a damaged one loads nothing. A
 * transaction Bundle with a bad entry loads nothing.
 */
export async function loadPaths(
  store: ResourceStore,
  paths: string[],
  options: LoadOptions = {},
): Promise<LoadReport> {
  const started = performance.now();
  const files = await listLoadable(paths);
  const report: LoadReport = {
    files: files.length,
    created: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    rejected: 0,
    seconds: 0,
  };
  const run: LoadRun = {
    store,
    report,
    batchRows: options.batchSize ?? DEFAULT_BATCH_ROWS,
    batchBytes: options.batchBytes ?? DEFAULT_BATCH_BYTES,
    transactionBytes: options.transactionBytes ?? DEFAULT_TRANSACTION_BYTES,
    workers: options.workers ?? defaultWorkers(availableParallelism()),
    problem: (p) => {
      report.rejected += 1;
      options.onProblem?.(p);
    },
    progress: () => {
      report.seconds = (performance.now() - started) / 1000;
      options.onProgress?.(report);
    },
  };
  await loadInWorker(run, files);
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

const DEFAULT_BATCH_ROWS = 50_000;

/**
 * Parsing threads for a machine of `cores` cores: one per core the writing thread leaves, 1 to 4. The
 * writer keeps a core busy on its own (18.8 of 46 CPU seconds of a 1M load, the parsing threads 7.5
 * each), so on 2 cores a second parsing thread only competes for the same cores; it cost 53 MiB of
 * peak RSS, a V8 heap and its chunks (276 against 223 MiB, docs/benchmarks.md, "Memory").
 */
export function defaultWorkers(cores: number): number {
  return Math.max(1, Math.min(4, cores - 1));
}
// Memory is bounded by bytes, not rows: each worker holds a chunk and its batch, the reader one
// chunk ahead per worker, and the writer the batch it writes. Larger batches rewrite the randomly
// keyed index pages less often, but the page cache keeps those between batches; at 24 MiB a 1M load
// peaked near 600 MiB (docs/benchmarks.md, "Memory").
const DEFAULT_BATCH_BYTES = 4 * 1024 * 1024;
// Committing batches together costs no memory of ours (SQLite's page cache bounds its dirty pages),
// only a longer write lock: about 1.5 s at 40,000 resources/s. See `SqliteStore.commitPrepared`.
const DEFAULT_TRANSACTION_BYTES = 64 * 1024 * 1024;

/** One load's settings, totals and callbacks. */
export interface LoadRun {
  store: ResourceStore;
  report: LoadReport;
  batchRows: number;
  batchBytes: number;
  transactionBytes: number;
  workers: number;
  problem: (p: LoadProblem) => void;
  progress: () => void;
}

/**
 * The fast path: a worker thread parses and prepares NDJSON while this thread only writes, so a load
 * keeps two cores busy. JSON documents are read here, in their place in the file order.
 */
async function loadInWorker(run: LoadRun, files: string[]): Promise<void> {
  const events = preparedEvents({
    files,
    batchRows: run.batchRows,
    batchBytes: run.batchBytes,
    chunkBytes: chunkBytesFor(run.batchBytes),
    workers: run.workers,
    sortByKey: true,
  });
  const writes = new HeldWrites(run);
  try {
    for await (const event of events) {
      if (event.kind === 'json') {
        await writes.commit();
        await loadJsonFile(run, event.file);
      } else if (event.kind === 'problems') event.problems.forEach(run.problem);
      else if (event.kind === 'batch') await writes.write(event.batch);
      if (event.kind !== 'problems') run.progress();
    }
  } catch (err) {
    // The batches written are whole: they stay loaded, as when each was committed on its own.
    await writes.commit();
    throw err;
  }
  await writes.commit();
}

/** Batches written in the open transaction, counted in the report once it commits. */
class HeldWrites {
  private bytes = 0;
  private readonly held: IngestSummary = { created: 0, updated: 0, unchanged: 0 };

  constructor(private readonly run: LoadRun) {}

  async write(batch: PreparedBatch): Promise<void> {
    const keepOpen = this.bytes + batch.json.byteLength < this.run.transactionBytes;
    let summary: IngestSummary;
    try {
      summary = await this.run.store.ingestPrepared(batch, { keepOpen });
    } catch (err) {
      // The store rolled back the batches held with it: they were never loaded, so never counted.
      this.reset();
      throw err;
    }
    addSummary(this.held, summary);
    this.bytes += batch.json.byteLength;
    if (!keepOpen) this.counted();
  }

  async commit(): Promise<void> {
    await this.run.store.commitPrepared();
    this.counted();
  }

  private counted(): void {
    addSummary(this.run.report, this.held);
    this.reset();
  }

  private reset(): void {
    this.held.created = this.held.updated = this.held.unchanged = 0;
    this.bytes = 0;
  }
}
