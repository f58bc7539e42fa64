import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { StorageConfig } from '../storage/index.js';
import type { ExportConfig } from './config.js';
import type { WorkerThreadData } from './worker-thread.js';

/** Options for the in-process pool. */
export interface WorkerPoolOptions {
  dbPath: string;
  /** Each thread builds its own storage from this description. */
  storage: StorageConfig;
  config: ExportConfig;
  log: Logger;
}

/** Export worker threads inside the server process, so scans never block the event loop (DESIGN.md §3). */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private stopping = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  /** Start the configured number of threads. */
  start(): void {
    for (let i = 0; i < this.options.config.workers; i++) this.spawn();
  }

  private spawn(): void {
    const data: WorkerThreadData = {
      dbPath: this.options.dbPath,
      storage: this.options.storage,
      config: this.options.config,
      logLevel: this.options.log.level,
    };
    const worker = new Worker(new URL('./worker-thread.js', import.meta.url), { workerData: data });
    worker.on('error', (err) => this.options.log.error({ err }, 'export worker thread error'));
    worker.on('exit', (code) => {
      this.workers.splice(this.workers.indexOf(worker), 1);
      if (!this.stopping) {
        this.options.log.warn({ code }, 'export worker thread exited; starting another');
        this.spawn();
      }
    });
    this.workers.push(worker);
  }

  /** Tell idle threads there is new work. */
  wake(): void {
    for (const w of this.workers) w.postMessage('wake');
  }

  /** Stop every thread at its next batch boundary; their units go back to pending. */
  async stop(): Promise<void> {
    this.stopping = true;
    const exits = this.workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
    for (const w of this.workers) w.postMessage('stop');
    await Promise.all(exits);
  }
}
