// Entry of an export worker thread: its own store connection and file storage, one work loop.
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { openStore } from '../store/index.js';
import { createStorage } from '../storage/index.js';
import type { StorageConfig } from '../storage/index.js';
import type { ExportConfig } from './config.js';
import type { UnitRecord } from '../store/index.js';
import { isViewUnit, workLoop } from './work-loop.js';
import type { LoopEnd } from './work-loop.js';

/** What the pool hands each thread. */
export interface WorkerThreadData {
  /** What `openStore` takes: a SQLite file path or a PostgreSQL URL. */
  db: string;
  /** Where files go; may hold S3 credentials, so it is never logged. */
  storage: StorageConfig;
  config: ExportConfig;
  logLevel: string;
  /** Post each JSON log line to the parent (which writes it in the server's format) instead of stdout. */
  forwardLogs?: boolean;
  /**
   * `view`: a thread with a larger young generation, for view units; it also runs any other unit it
   * leases, and ends when it finds no work. `default`: hands a leased view unit to a view thread.
   */
  kind: ThreadKind;
  /** A unit another thread leased and handed to this one, run first under that lease. */
  handedOver?: { unit: UnitRecord; owner: string };
}

/** Which memory limits a thread runs with. */
export type ThreadKind = 'default' | 'view';

/** What a thread posts to the pool just before its loop ends, when it wants another in its place. */
export type ThreadEnd = Exclude<LoopEnd, { reason: 'stopped' }>;

/**
 * A view thread that finds no unit waits this long before it ends (a default thread then takes its
 * place): a view export's units come in phases, and a thread ended between them was replaced twice,
 * each boot 100-200 ms of CPU.
 */
const VIEW_THREAD_IDLE_MS = 2_000;

const data = workerData as WorkerThreadData;
const logOptions = { level: data.logLevel, base: { thread: 'export-worker' } };
const log = data.forwardLogs
  ? pino(logOptions, { write: (line: string) => parentPort?.postMessage({ log: line }) })
  : pino(logOptions);
// Units read sequentially, so a small page cache costs no speed; the OS page cache does the rest.
const store = await openStore(data.db, { pageCacheMiB: 2 });
const storage = await createStorage(data.storage);
// The server listens only after this: work it took on while threads boot would share the cores with them.
parentPort?.postMessage('ready');
const stop = new AbortController();
let wake: (() => void) | undefined;

parentPort?.on('message', (msg: unknown) => {
  if (msg === 'stop') stop.abort();
  wake?.();
});

const waitForWork = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      wake = undefined;
      resolve();
    }
    wake = done;
  });

// Sibling threads idle on a timer; a finished unit may have work for them now, and may have ended
// its job, which held status polls of that job wait for.
const onUnitDone = (jobId: string): void => parentPort?.postMessage({ unitDone: jobId });

workLoop({
  store,
  storage,
  config: data.config,
  log,
  waitForWork,
  onUnitDone,
  signal: stop.signal,
  ...(data.kind === 'view' ? { endWhenIdleMs: VIEW_THREAD_IDLE_MS } : { handOff: isViewUnit }),
  ...(data.handedOver ? { handedOver: data.handedOver } : {}),
})
  .then(async (end) => {
    // Stopped while handing off: no thread will take the unit, so it goes back as on any shutdown.
    if (end.reason === 'hand-off' && stop.signal.aborted) await store.jobs.releaseUnit(end.unit, end.owner);
    else if (end.reason !== 'stopped') parentPort?.postMessage({ end } satisfies { end: ThreadEnd });
  })
  .catch((err: unknown) => {
    log.error({ err }, 'export worker crashed');
    process.exitCode = 1;
  })
  .finally(() => {
    void store.close();
    void storage.close();
    parentPort?.close();
  });
