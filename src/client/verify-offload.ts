/**
 * Line verification on a worker thread. Checking every line as JSON is most of the client's CPU; on
 * the main thread it runs between receiving and writing, so every byte costs both. Here the main
 * thread copies the bytes into 256 KiB batches for the worker (verify-worker.ts) and goes on; the file
 * is renamed only after the worker has checked its last line, so the guarantee is the same.
 */
import { Worker } from 'node:worker_threads';
import { VerificationError } from './errors.js';
import type { LineExpectation } from './ndjson-verifier.js';
import type { FromWorker, ToWorker } from './verify-worker.js';

/** Bytes copied together into one message to the worker. */
const BATCH_BYTES = 256 * 1024;
/** Bytes of one file the worker may have queued before the download waits for it. */
const MAX_QUEUED_BYTES = 2 * 1024 * 1024;
/**
 * The worker's young generation: it allocates almost nothing on the V8 heap (lines stay in Buffers),
 * and the default semi-spaces would add tens of MiB to the client's RSS (bar: 150 MiB).
 */
const WORKER_YOUNG_GENERATION_MB = 2;

/** The one verification thread of the process, started on first use. */
class VerifyThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly files = new Map<number, OffThreadVerifier>();

  open(file: OffThreadVerifier, expect: LineExpectation): number {
    const worker = this.worker ?? this.start();
    if (this.files.size === 0) worker.ref();
    const id = this.nextId++;
    this.files.set(id, file);
    this.send({ op: 'start', id, expect });
    return id;
  }

  send(message: ToWorker, transfer?: ArrayBuffer[]): void {
    this.worker?.postMessage(message, transfer);
  }

  close(id: number): void {
    if (!this.files.delete(id)) return;
    // An idle worker must not keep the process alive.
    if (this.files.size === 0) this.worker?.unref();
  }

  private start(): Worker {
    const worker = new Worker(new URL('./verify-worker.js', import.meta.url), {
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    worker.on('message', (m: FromWorker) => this.files.get(m.id)?.receive(m));
    const crash = (err: Error): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const files = [...this.files.values()];
      this.files.clear();
      for (const f of files) f.crash(err);
    };
    worker.on('error', crash);
    worker.on('exit', (code) => crash(new Error(`the verification thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

const thread = new VerifyThread();

/**
 * An NdjsonVerifier whose checking runs on the worker thread. `scan` only copies; a bad line is
 * reported by a later `scan` or by `finish`. Call `dispose` when the download is abandoned.
 */
export class OffThreadVerifier {
  /** Resource lines, known once `finish` has resolved. */
  lines = 0;
  /** Bytes given to `scan`. */
  bytes = 0;
  private readonly id: number;
  private batch: Buffer | undefined;
  private batchLength = 0;
  private queued = 0;
  private failure: Error | undefined;
  private closed = false;
  private roomWaiter: (() => void) | undefined;
  private doneWaiter: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(expect: LineExpectation) {
    this.id = thread.open(this, expect);
  }

  /**
   * Hand a chunk to the worker.
   * @throws VerificationError when the worker has found a bad line in an earlier chunk.
   */
  scan(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    this.bytes += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      this.batch ??= Buffer.allocUnsafeSlow(BATCH_BYTES);
      const n = chunk.copy(this.batch, this.batchLength, at);
      this.batchLength += n;
      at += n;
      if (this.batchLength === BATCH_BYTES) this.flush();
    }
  }

  /** Undefined when the worker may take more now, else a promise that resolves when it may. */
  room(): Promise<void> | undefined {
    if (this.queued <= MAX_QUEUED_BYTES || this.failure || this.closed) return undefined;
    return new Promise((resolve) => {
      this.roomWaiter = resolve;
    });
  }

  /**
   * Wait for the worker to check the last line and the count.
   * @throws VerificationError when a line is bad or the count differs.
   */
  async finish(): Promise<void> {
    if (this.failure) throw this.failure;
    this.flush();
    const done = new Promise<void>((resolve, reject) => {
      this.doneWaiter = { resolve, reject };
    });
    thread.send({ op: 'finish', id: this.id });
    await done;
  }

  /** Forget the file (the download failed or was aborted); the worker drops its state. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    thread.send({ op: 'drop', id: this.id });
    thread.close(this.id);
    this.batch = undefined;
  }

  /** @internal A message from the worker about this file. */
  receive(m: FromWorker): void {
    if (m.op === 'ack') {
      this.queued -= m.bytes;
      if (this.queued <= MAX_QUEUED_BYTES) this.wake();
    } else if (m.op === 'done') {
      this.lines = m.lines;
      this.closed = true;
      thread.close(this.id);
      this.doneWaiter?.resolve();
    } else {
      this.fail(
        m.verification
          ? new VerificationError(m.message, m.line === undefined ? {} : { line: m.line })
          : new Error(m.message),
      );
    }
  }

  /** @internal The worker died: the file cannot be verified here. */
  crash(err: Error): void {
    this.fail(new Error(`verification thread failed: ${err.message}`, { cause: err }));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.closed = true;
    thread.close(this.id);
    this.wake();
    this.doneWaiter?.reject(this.failure);
  }

  private wake(): void {
    const w = this.roomWaiter;
    this.roomWaiter = undefined;
    w?.();
  }

  private flush(): void {
    if (this.batchLength === 0 || this.closed || !this.batch) return;
    // The batch's memory moves to the worker: no second copy.
    const chunk = new Uint8Array(this.batch.buffer, this.batch.byteOffset, this.batchLength);
    this.queued += this.batchLength;
    thread.send({ op: 'chunk', id: this.id, chunk }, [this.batch.buffer as ArrayBuffer]);
    this.batch = undefined;
    this.batchLength = 0;
  }
}
