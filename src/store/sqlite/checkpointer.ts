import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** The writer's own auto-checkpoint while a checkpoint thread runs: only a safety valve. */
const FALLBACK_AUTOCHECKPOINT_PAGES = 100_000;

/**
 * Checkpoints the WAL on a thread of its own during bulk writes. Copying WAL frames into the database
 * file and syncing it would otherwise take about a sixth of the writing thread's time, in the middle
 * of its commits; on its own connection it runs beside the writer (SQLite allows one checkpointer
 * beside one writer). Once each commit has been copied, the writer starts the WAL over, so it stays
 * near one batch long. If the thread falls behind, the writer's own auto-checkpoint, raised to
 * `FALLBACK_AUTOCHECKPOINT_PAGES`, still bounds the WAL.
 */
export class SqliteCheckpointer {
  private worker: Worker | undefined;
  private failed = false;
  private readonly autocheckpoint: number;

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
  ) {
    this.autocheckpoint = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  }

  /** Ask for a checkpoint of what has been committed; starts the thread on first use. */
  afterCommit(): void {
    if (this.failed) return;
    if (this.worker === undefined) {
      this.worker = new Worker(new URL('./checkpoint-thread.js', import.meta.url), {
        workerData: { path: this.path },
      });
      // A checkpoint is an optimization: it must never keep the process alive or fail a write.
      this.worker.unref();
      this.worker.on('error', () => {
        this.failed = true;
        this.restore();
      });
      this.worker.on('exit', () => this.restore());
      this.db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
    }
    this.worker.postMessage('checkpoint');
  }

  /** Stop the thread (after its current checkpoint) and give the writer back its own checkpoints. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.ref();
    worker.postMessage('stop');
    await exited;
  }

  private restore(): void {
    this.worker = undefined;
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${this.autocheckpoint}`);
  }
}
