import type { JobRecord } from '../store/index.js';

// Held status polls (`Prefer: wait=N`, RFC 7240 section 4.3): each waits here for an event about its
// job instead of the client sleeping a fixed interval, so a short export is seen finished when it
// finishes rather than at the client's next poll.

/** Longest hold of a status poll, whatever `Prefer: wait` asks: well under common proxy idle timeouts (30 s and more). */
export const MAX_STATUS_WAIT_SECONDS = 10;
/** Status polls held at once, server-wide; more are answered at once (each holds a socket and a timer). */
export const MAX_HELD_STATUS_POLLS = 64;
/**
 * A held poll also looks at its job this often: units run by `fhirhose worker` processes send this
 * process no event, and a job can end there: it is seen ended at the next look. 250 ms is the pace an
 * unheld client may poll at (a quarter of Retry-After), so a held poll is never seen later than an
 * unheld one; at most four reads of one job row a second per held poll (64 held: 256 reads/s).
 */
export const HELD_RECHECK_MS = 250;

/** How a wait ended. */
export type WaitEnd = 'event' | 'timeout' | 'refused' | 'closed';

/** Options of {@link StatusWaiters}. */
export interface StatusWaitersOptions {
  /** Requests held at once, server-wide; a request beyond that is answered at once. */
  maxHeld: number;
}

interface Waiter {
  jobId: string;
  end: (how: WaitEnd) => void;
}

/**
 * The status polls held right now, released by job events (a unit of the job finished, the job was
 * cancelled), by their timeout, or all at once when the server stops. Their number is bounded, so a
 * flood of waiting polls cannot hold sockets and timers without limit.
 */
export class StatusWaiters {
  private readonly held = new Set<Waiter>();
  private stopped = false;

  constructor(private readonly options: StatusWaitersOptions) {}

  /** {@link close} was called. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Requests held now. */
  get size(): number {
    return this.held.size;
  }

  /**
   * Wait for an event about `jobId`, at most `ms`. Resolves at once with 'refused' when as many
   * requests are held as allowed, and with 'closed' once the server is stopping.
   */
  wait(jobId: string, ms: number): Promise<WaitEnd> {
    if (this.stopped) return Promise.resolve('closed');
    if (this.held.size >= this.options.maxHeld) return Promise.resolve('refused');
    return new Promise((resolve) => {
      const waiter: Waiter = {
        jobId,
        end: (how) => {
          clearTimeout(timer);
          this.held.delete(waiter);
          resolve(how);
        },
      };
      const timer = setTimeout(() => waiter.end('timeout'), ms);
      this.held.add(waiter);
    });
  }

  /**
   * Hold while `job` runs, until `seconds` pass or the server stops, reading it again (`reread`)
   * after each event and at least every {@link HELD_RECHECK_MS}; the job as last read.
   */
  async holdWhileRunning(
    job: JobRecord,
    seconds: number,
    reread: () => Promise<JobRecord>,
  ): Promise<JobRecord> {
    // Timers run on real time whatever the service's clock, so the deadline does too.
    const deadline = performance.now() + seconds * 1000;
    let current = job;
    while (current.status === 'running') {
      const left = deadline - performance.now();
      if (left <= 0) break;
      const end = await this.wait(current.id, Math.min(left, HELD_RECHECK_MS));
      if (end === 'refused' || end === 'closed') break;
      current = await reread();
    }
    return current;
  }

  /** Something happened to `jobId` (a unit finished, the job was cancelled): its waiters look again. */
  notify(jobId: string): void {
    for (const w of [...this.held]) if (w.jobId === jobId) w.end('event');
  }

  /** The server is stopping: answer every held request now, and hold none from here on. */
  close(): void {
    this.stopped = true;
    for (const w of [...this.held]) w.end('closed');
  }
}
