import { closeSync, fsync, open, writev, writevSync } from 'node:fs';
import { Writable } from 'node:stream';

/**
 * The file end of a download: gathers the response's chunks (64 KiB each from undici) into batches of
 * about {@link BATCH_BYTES} and writes each batch with one `writev`, without copying, while the next
 * batch gathers. A write per
 * chunk cost the main thread a thread-pool hand-off per 64 KiB, which a CPU profile of
 * `fhirhose export` showed as its largest item once lines were no longer fully parsed.
 *
 * A download that breaks must leave every byte it received on disk, so that a resumed request asks
 * for exactly the rest (`Range`): node streams drop what they hold on destroy, so this sink writes
 * its batch out when destroyed, before it closes the file, and {@link FileSink.fileClosed} says when
 * that is done. The caller awaits it before it looks at the file again.
 */

/** Bytes gathered before one write: 16 chunks of undici's 64 KiB. */
export const BATCH_BYTES = 1024 * 1024;

/**
 * The longest a gathered chunk waits for its batch to fill: a slow download still reaches the disk
 * within this, so a crash (SIGKILL) costs at most that much of it again, and a fast one (1 MiB in a
 * few milliseconds) is not held back.
 */
export const MAX_BATCH_AGE_MS = 100;

/** Options of a {@link FileSink}. */
export interface FileSinkOptions {
  /** `w` to start the file, `a` to append to what an earlier attempt left. */
  flags: 'a' | 'w';
  /** fsync before the file counts as written (the default), so a rename after it is durable. */
  flush?: boolean;
  /** Sees each chunk before it is written; what it throws fails the stream, and the chunk is not written. */
  inspect?: (chunk: Buffer) => void;
}

/** A Writable to one file that writes in batches of about 1 MiB and keeps its bytes when destroyed. */
export class FileSink extends Writable {
  /** Settles once the file is closed, every byte received written (resolves on errors too). */
  readonly fileClosed: Promise<void>;
  private fd: number | undefined;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  /** The batch being written; it never rejects (a failure goes to `failure`). */
  private writing: Promise<void> | undefined;
  private failure: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private markClosed!: () => void;

  constructor(
    private readonly path: string,
    private readonly options: FileSinkOptions,
  ) {
    // A chunk is taken at once unless two batches are held, and write() reports backpressure from
    // the bytes held: below the default 16 KiB every 64 KiB chunk would pause its source.
    super({ highWaterMark: BATCH_BYTES });
    this.fileClosed = new Promise<void>((resolve) => (this.markClosed = resolve));
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, this.options.flags, (err, fd) => {
      if (err) {
        this.markClosed();
        callback(err);
        return;
      }
      this.fd = fd;
      callback();
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.failure) {
      callback(this.failure);
      return;
    }
    try {
      this.options.inspect?.(chunk);
    } catch (err) {
      // Kept, so that a chunk already queued behind this one is refused too.
      this.failure = err as Error;
      callback(this.failure);
      return;
    }
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes < BATCH_BYTES) {
      this.timer ??= setTimeout(() => void this.flushBatch(), MAX_BATCH_AGE_MS).unref();
      callback();
    } else if (!this.writing) {
      // The next batch gathers while this one is written: network and disk overlap.
      void this.flushBatch();
      callback();
    } else {
      // One batch on its way and the next full: wait, so about two batches are held at most.
      void this.writing.then(() => {
        void this.flushBatch();
        callback(this.failure);
      });
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flushBatch()
      .then(() => {
        if (this.failure) throw this.failure;
        return this.options.flush === false ? undefined : this.sync();
      })
      .then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearTimer();
    const finish = (): void => {
      let failure: Error | null = error ?? this.failure ?? null;
      const fd = this.fd;
      this.fd = undefined;
      if (fd !== undefined) {
        try {
          // Synchronous, and at most one batch: the bytes must be on disk before anyone stats the file.
          if (this.batchBytes > 0) writevSync(fd, this.batch);
        } catch (err) {
          failure ??= err as Error;
        }
        this.batch = [];
        this.batchBytes = 0;
        try {
          closeSync(fd);
        } catch (err) {
          failure ??= err as Error;
        }
      }
      this.markClosed();
      callback(failure);
    };
    // A write in flight finishes first, so the batch goes after it, in order.
    if (this.writing) void this.writing.then(finish);
    else finish();
  }

  /**
   * Write the gathered chunks with one writev, after the write in flight (never two at once, so
   * bytes land in order). Never rejects: a failure is kept in `failure` for the next call.
   */
  private flushBatch(): Promise<void> {
    if (this.writing) return this.writing.then(() => this.flushBatch());
    this.clearTimer();
    if (this.batchBytes === 0 || this.fd === undefined || this.failure || this.destroyed)
      return Promise.resolve();
    const buffers = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    const writing = writeAll(this.fd, buffers)
      .catch((err: unknown) => {
        this.failure ??= err as Error;
      })
      .finally(() => {
        this.writing = undefined;
      });
    this.writing = writing;
    return writing;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private sync(): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
  }
}

/** writev until every byte of `buffers` is written (writev may write fewer). */
function writeAll(fd: number, buffers: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (rest: Buffer[]): void => {
      writev(fd, rest, (err, written) => {
        if (err) {
          reject(err);
          return;
        }
        let n = written;
        while (rest.length > 0 && n >= (rest[0] as Buffer).length) n -= (rest.shift() as Buffer).length;
        if (rest.length === 0) {
          resolve();
          return;
        }
        rest[0] = (rest[0] as Buffer).subarray(n);
        step(rest);
      });
    };
    step(buffers);
  });
}
