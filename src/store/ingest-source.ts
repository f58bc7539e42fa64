import { Worker } from 'node:worker_threads';
import type { LoadProblem } from './loader.js';
import { gzipDamage } from './gzip-check.js';
import { fileChunks, isNdjsonFile } from './ndjson-lines.js';
import type { PreparedBatch } from './prepared-batch.js';

/** What every ingest worker is started with. */
export interface IngestWorkerData {
  /** A batch ends at this many resources (a chunk of lines may give several)... */
  batchRows: number;
  /** ...or once it holds this many bytes of stored JSON, whichever comes first. */
  batchBytes: number;
  /** Send each batch in (type, id) order; see `BatchBuilder.build`. */
  sortByKey: boolean;
}

/** A chunk of whole NDJSON lines for a worker to prepare: `chunk[0, length)`, transferred. */
export interface ChunkTask {
  seq: number;
  chunk: ArrayBuffer;
  length: number;
}

/** A prepared chunk. Line numbers count from the chunk's first line, which is 1. */
export interface ChunkResult {
  seq: number;
  batches: PreparedBatch[];
  problems: { line: number; reason: string }[];
  /** Lines in the chunk, to number the lines of the next one. */
  lines: number;
  /** The chunk's buffer, back for the next read. */
  chunk: ArrayBuffer;
}

/** JSON buffers of batches that have been written, back to the worker that filled them. */
export interface ChunkReturn {
  json: ArrayBuffer[];
}

/** What a load is made of, in file order. */
export type IngestEvent =
  /** Prepared resources of an NDJSON file. Valid until the next event is asked for. */
  | { kind: 'batch'; file: string; batch: PreparedBatch }
  /** NDJSON lines that cannot be loaded. */
  | { kind: 'problems'; problems: LoadProblem[] }
  /** A file that is one JSON document (a resource or a Bundle), for the caller to read itself. */
  | { kind: 'json'; file: string }
  /** The end of an NDJSON file. */
  | { kind: 'end'; file: string };

/** Options for `preparedEvents`. */
export interface PreparedEventsOptions extends IngestWorkerData {
  /** Loadable files, in load order. */
  files: string[];
  /** NDJSON bytes per chunk, so about the JSON bytes per batch. */
  chunkBytes: number;
  /** Worker threads that prepare chunks. */
  workers: number;
}

/**
 * The NDJSON bytes to read per chunk for batches bounded at `batchBytes` of stored JSON. A chunk's
 * stored JSON is its lines plus about 90 bytes of meta each: at three quarters of the bound, a chunk
 * of ordinary resources makes one batch and one JSON buffer, rather than a full batch and a nearly
 * empty one whose buffer is as large (with chunks as large as the bound, every chunk but a file's
 * last went past it, since stored JSON is longer than its line).
 */
export function chunkBytesFor(batchBytes: number): number {
  return Math.max(1, Math.floor((batchBytes * 3) / 4));
}

/**
 * Prepare NDJSON files on worker threads and yield the batches in file and line order. This thread
 * only reads bytes and cuts them at line ends; the workers parse. Reading runs ahead across file
 * ends, so the workers never wait for the writer to finish a file. At most one chunk per worker, and
 * one more, is out at a time, which bounds memory however large the input, and a batch's buffers go
 * back to its worker once the consumer asks for the next event. Stopping the iteration early stops the workers.
 * @throws Error when a worker thread fails
 */
export async function* preparedEvents(options: PreparedEventsOptions): AsyncGenerator<IngestEvent> {
  const pool = new ChunkWorkers(options.workers, {
    batchRows: options.batchRows,
    batchBytes: options.batchBytes,
    sortByKey: options.sortByKey,
  });
  const reads = readItems(options.files, options.chunkBytes, pool.spareChunks);
  const queue: Queued[] = [];
  let chunksOut = 0;
  let exhausted = false;
  // Keep every worker busy while the consumer writes: one chunk more than workers, so a worker that
  // finishes before the writer asks for its chunk has the next one waiting.
  const fill = async (): Promise<void> => {
    while (!exhausted && chunksOut < pool.size + 1) {
      const next = await reads.next();
      if (next.done) exhausted = true;
      else if (next.value.kind !== 'chunk') queue.push(next.value);
      else {
        const prepared = pool.prepare(next.value.buffer, next.value.length);
        // Awaited in turn below; until then a failure must not count as unhandled.
        prepared.catch(() => undefined);
        queue.push({ kind: 'prepared', file: next.value.file, prepared });
        chunksOut += 1;
      }
    }
  };
  let firstLine = 0;
  try {
    await fill();
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      if (item.kind !== 'prepared') {
        if (item.kind === 'failed') {
          // The line reached: every line of the chunks read before the failure.
          const problem = { file: item.file, line: firstLine, reason: `read failed: ${item.error.message}` };
          yield { kind: 'problems', problems: [problem] };
        } else if (item.kind === 'damaged') {
          yield { kind: 'problems', problems: [{ file: item.file, line: 0, reason: item.reason }] };
        } else yield item;
        firstLine = 0;
        continue;
      }
      const done = await item.prepared;
      chunksOut -= 1;
      await fill();
      const { file } = item;
      const problems = done.problems.map((p) => ({ file, line: firstLine + p.line, reason: p.reason }));
      firstLine += done.lines;
      if (problems.length > 0) yield { kind: 'problems', problems };
      for (const batch of done.batches) yield { kind: 'batch', file, batch };
      pool.giveBack(done);
    }
  } finally {
    await reads.return(undefined);
    await pool.close();
  }
}

type ReadItem =
  | { kind: 'chunk'; file: string; buffer: Buffer; length: number }
  | { kind: 'json' | 'end'; file: string }
  | { kind: 'failed'; file: string; error: Error }
  | { kind: 'damaged'; file: string; reason: string };

type Queued =
  | Exclude<ReadItem, { kind: 'chunk' }>
  | { kind: 'prepared'; file: string; prepared: Promise<ChunkResult & { worker: number }> };

/**
 * The files as chunks of lines, each NDJSON file followed by its 'end'. A gzip file is checked whole
 * first (`gzipDamage`): a damaged one gives 'damaged' and no chunk. A read that fails ends its file
 * with 'failed' (after the chunks read before it) and the load goes on with the next file.
 */
async function* readItems(files: string[], chunkBytes: number, spare: Buffer[]): AsyncGenerator<ReadItem> {
  for (const file of files) {
    if (!isNdjsonFile(file)) {
      yield { kind: 'json', file };
      continue;
    }
    const damage = file.endsWith('.gz') ? await gzipDamage(file) : undefined;
    if (damage !== undefined) {
      yield { kind: 'damaged', file, reason: damage };
      yield { kind: 'end', file };
      continue;
    }
    try {
      for await (const { buffer, length } of fileChunks(file, chunkBytes, spare)) {
        yield { kind: 'chunk', file, buffer, length };
      }
    } catch (err) {
      yield { kind: 'failed', file, error: err as Error };
    }
    yield { kind: 'end', file };
  }
}

const INGEST_YOUNG_GENERATION_MB = 8;

/** The worker threads, handed chunks in turn. */
class ChunkWorkers {
  readonly spareChunks: Buffer[] = [];
  private readonly workers: { worker: Worker; waiting: Map<number, Waiter> }[] = [];
  private seq = 0;
  private failure: Error | undefined;

  constructor(count: number, data: IngestWorkerData) {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL('./ingest-worker.js', import.meta.url), {
        workerData: data,
        // A worker parses a chunk into objects that are garbage by the next chunk: a small young
        // generation collects them sooner, rather than letting each thread grow its semi-spaces
        // to V8's default size (docs/benchmarks.md, "Memory").
        resourceLimits: { maxYoungGenerationSizeMb: INGEST_YOUNG_GENERATION_MB },
      });
      const waiting = new Map<number, Waiter>();
      worker.on('message', (result: ChunkResult) => {
        waiting.get(result.seq)?.resolve({ ...result, worker: i });
        waiting.delete(result.seq);
      });
      const fail = (err: Error): void => {
        this.failure ??= err;
        for (const waiter of waiting.values()) waiter.reject(err);
        waiting.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`ingest worker stopped (exit code ${code})`)));
      this.workers.push({ worker, waiting });
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Send a chunk (its buffer is transferred) to the next worker. */
  prepare(buffer: Buffer, length: number): Promise<ChunkResult & { worker: number }> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.seq++;
    const { worker, waiting } = this.workers[seq % this.workers.length]!;
    const chunk = buffer.buffer as ArrayBuffer;
    const task: ChunkTask = { seq, chunk, length };
    return new Promise((resolve, reject) => {
      waiting.set(seq, { resolve, reject });
      worker.postMessage(task, [chunk]);
    });
  }

  /** A chunk's batches are written: their buffers go back to be used again. */
  giveBack(result: ChunkResult & { worker: number }): void {
    // Kept, not dropped: see ingest-worker.ts on buffers that came in by transfer.
    this.spareChunks.push(Buffer.from(result.chunk));
    const back: ChunkReturn = { json: result.batches.map((b) => b.json.buffer as ArrayBuffer) };
    this.workers[result.worker]?.worker.postMessage(back, back.json);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(({ worker }) => {
        worker.removeAllListeners();
        return worker.terminate();
      }),
    );
  }
}

interface Waiter {
  resolve: (result: ChunkResult & { worker: number }) => void;
  reject: (err: Error) => void;
}
