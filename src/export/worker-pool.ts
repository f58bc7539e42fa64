import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { StorageConfig } from '../storage/index.js';
import type { ExportConfig } from './config.js';
import type { ThreadEnd, ThreadKind, WorkerThreadData } from './worker-thread.js';

const RESPAWN_DELAY_MS = 1000;

/** Options for the in-process pool. */
export interface WorkerPoolOptions {
  /** What `openStore` takes: a SQLite file path or a PostgreSQL URL. */
  db: string;
  /** Each thread builds its own storage from this description. */
  storage: StorageConfig;
  config: ExportConfig;
  log: Logger;
  /**
   * Where the threads' JSON log lines go, so every thread logs through the server's one writer (in its
   * format); unset, each thread writes its JSON lines to stdout itself.
   */
  logLine?: (line: string) => void;
  /** A thread finished a unit of `jobId` (it may have ended the job). */
  onUnitDone?: (jobId: string) => void;
}

const YOUNG_GENERATION_MB = 4;
/**
 * Not a budget for live data (a unit holds a few MiB): V8 lets the old generation grow to a multiple
 * of what survived the last full collection, 4x when the heap may reach 2 GiB or more (the default on a
 * machine with this much memory), 1.6x at 1 GiB. Measured on the 1M Patient export: each thread's old
 * generation peaked at 33-40 MiB by default and at about 20 MiB at 1024, 512, 256 or 128. 1 GiB leaves
 * room for a resource of hundreds of MB (a thread past the cap dies and its unit is retried).
 */
export const OLD_GENERATION_MB = 1024;
/**
 * Young generation of a thread running view units (V8 sizes it as three semi-spaces). The Parquet
 * encoder's buffers live a row group long: with 4 MB they are copied and promoted. At 1M, 16 MB cut
 * the server's CPU per Observation 6% (CSV 16%) for a peak RSS of 237-244 MiB; 24 MB cut it 19% but
 * peaked at 266 MiB once, over the 250 bar (docs/benchmarks.md).
 */
export const VIEW_YOUNG_GENERATION_MB = 16;

/** Export worker threads inside the server process, so scans never block the event loop (DESIGN.md §3). */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly respawns = new Set<NodeJS.Timeout>();
  /** One promise per thread spawned, settled when it has posted 'ready' (or exited). */
  private readonly booting = new Set<Promise<void>>();
  private readyCount = 0;
  private stopping = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  /** Start the configured number of threads, or `threads` more (a server started without workers). */
  start(threads = this.options.config.workers): void {
    for (let i = 0; i < threads; i++) this.spawn('default');
  }

  /**
   * Start a thread. A default thread that leases a view unit ends and hands it, leased, to a view
   * thread started in its place; a view thread ends when idle and a default one replaces it. So the
   * number of threads (and of units running at once) never changes, and only view exports pay for
   * the larger young generation.
   */
  private spawn(kind: ThreadKind, handedOver?: WorkerThreadData['handedOver']): void {
    const data: WorkerThreadData = {
      db: this.options.db,
      storage: this.options.storage,
      config: this.options.config,
      logLevel: this.options.log.level,
      forwardLogs: this.options.logLine !== undefined,
      kind,
      ...(handedOver ? { handedOver } : {}),
    };
    const youngMb = kind === 'view' ? VIEW_YOUNG_GENERATION_MB : YOUNG_GENERATION_MB;
    let end: ThreadEnd | undefined;
    const worker = new Worker(new URL('./worker-thread.js', import.meta.url), {
      workerData: data,
      // Units allocate short-lived batches at a high rate; a small young generation collects them
      // (and the buffers they hold) sooner, which keeps the thread's memory flat during an export.
      // Measured on the 1M bench: at 8 MB a PostgreSQL export ran a full collection every 100 ms per
      // thread (V8 starts marking while the old generation's headroom is under the young
      // generation's size); 4 MB halves that, and 2 MB lets parsed batches (_elements) be promoted.
      resourceLimits: {
        maxYoungGenerationSizeMb: youngMb,
        maxOldGenerationSizeMb: OLD_GENERATION_MB,
      },
    });
    const booted: Promise<void> = new Promise<void>((resolve) => {
      worker.on('message', (msg: unknown) => {
        if (isUnitDone(msg)) {
          this.wake(worker);
          this.options.onUnitDone?.(msg.unitDone);
        } else if (msg === 'ready') {
          this.readyCount++;
          resolve();
        } else if (isLogLine(msg)) this.options.logLine?.(msg.log);
        else if (isThreadEnd(msg)) end = msg.end;
      });
      // A thread that dies while booting (database unreachable) must not hold up `ready()`.
      worker.once('exit', () => resolve());
    }).finally(() => this.booting.delete(booted));
    this.booting.add(booted);
    worker.on('error', (err) => this.options.log.error({ err }, 'export worker thread error'));
    worker.on('exit', (code) => {
      this.workers.splice(this.workers.indexOf(worker), 1);
      if (this.stopping) return;
      // On shutdown a handed-off unit keeps its lease until it expires, as after a crash.
      if (end?.reason === 'hand-off') {
        this.spawn('view', { unit: end.unit, owner: end.owner });
      } else if (end?.reason === 'idle') {
        this.spawn('default');
      } else {
        this.options.log.warn({ code }, 'export worker thread exited; starting another');
        // A thread that dies at once (database unreachable) must not be replaced in a tight loop.
        const timer = setTimeout(() => {
          this.respawns.delete(timer);
          this.spawn('default');
        }, RESPAWN_DELAY_MS);
        this.respawns.add(timer);
      }
    });
    this.workers.push(worker);
  }

  /**
   * Resolves once every thread spawned so far has opened its store and storage (or exited). A thread
   * boots in 100-200 ms of CPU; on a 2-core machine, requests served meanwhile share the cores with it.
   */
  async ready(): Promise<void> {
    await Promise.all([...this.booting]);
  }

  /** Threads that have posted 'ready' since the pool started, respawned ones included. */
  get readyThreads(): number {
    return this.readyCount;
  }

  /** Threads running now (a dead one is replaced after a short delay). */
  get threads(): number {
    return this.workers.length;
  }

  /** Tell idle threads (all but `except`) there is new work. */
  wake(except?: Worker): void {
    for (const w of this.workers) if (w !== except) w.postMessage('wake');
  }

  /** Stop every thread at its next batch boundary; their units go back to pending. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.respawns) clearTimeout(timer);
    this.respawns.clear();
    const exits = this.workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
    for (const w of this.workers) w.postMessage('stop');
    await Promise.all(exits);
  }
}

function isThreadEnd(msg: unknown): msg is { end: ThreadEnd } {
  return typeof msg === 'object' && msg !== null && typeof (msg as { end?: unknown }).end === 'object';
}

function isUnitDone(msg: unknown): msg is { unitDone: string } {
  return (
    typeof msg === 'object' && msg !== null && typeof (msg as { unitDone?: unknown }).unitDone === 'string'
  );
}

function isLogLine(msg: unknown): msg is { log: string } {
  return typeof msg === 'object' && msg !== null && typeof (msg as { log?: unknown }).log === 'string';
}
