import { close, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import type { FileReadStream } from './types.js';

/** Buffers a download reads into: one being read, one waiting in the stream, two being sent. */
const MAX_BUFFERS = 4;

/**
 * A byte range of a file as a stream of chunks read into a few buffers of its own, which a consumer
 * that calls `release(chunk)` once it is done with a chunk (its bytes written to the socket or taken
 * by zlib) lets the stream read into again. A new buffer per read, as `fs.createReadStream` makes, is
 * external memory that V8 frees only when it collects the chunk's handle: several fast downloads
 * left tens of MiB of them in the server. Without `release`, or past MAX_BUFFERS in flight, a read
 * gets a new buffer as before.
 */
export class PooledFileReader extends Readable implements FileReadStream {
  private fd: number | undefined;
  private position: number;
  /** Inclusive end of the range. */
  private readonly last: number;
  /** The buffers this stream reads into (at most MAX_BUFFERS), by their memory. */
  private readonly owned = new Map<ArrayBufferLike, Buffer>();
  private readonly spare: Buffer[] = [];
  /** Owned buffers handed out in a chunk and not released yet. */
  private readonly lent = new Set<Buffer>();

  constructor(
    private readonly path: string,
    range: { start: number; end: number } | undefined,
    private readonly chunkBytes: number,
  ) {
    // One chunk waits in the stream while the consumer sends the one before.
    super({ highWaterMark: chunkBytes });
    this.position = range?.start ?? 0;
    this.last = range?.end ?? Infinity;
  }

  override _construct(callback: (err?: Error | null) => void): void {
    open(this.path, 'r', (err, fd) => {
      this.fd = fd;
      callback(err);
    });
  }

  override _read(): void {
    const want = Math.min(this.chunkBytes, this.last - this.position + 1);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buffer = this.readBuffer();
    read(this.fd!, buffer, 0, want, this.position, (err, n) => {
      if (err) {
        this.lent.delete(buffer);
        this.destroy(err);
        return;
      }
      if (n === 0) {
        this.giveBack(buffer);
        this.push(null);
        return;
      }
      this.position += n;
      this.push(n === buffer.length ? buffer : buffer.subarray(0, n));
    });
  }

  /** A buffer to read into: a released one, a new one of the pool, or past the pool a new one of its own. */
  private readBuffer(): Buffer {
    let buffer = this.spare.pop();
    if (buffer === undefined && this.owned.size < MAX_BUFFERS) {
      buffer = Buffer.allocUnsafeSlow(this.chunkBytes);
      this.owned.set(buffer.buffer, buffer);
    }
    if (buffer === undefined) return Buffer.allocUnsafeSlow(this.chunkBytes);
    this.lent.add(buffer);
    return buffer;
  }

  private giveBack(buffer: Buffer): void {
    if (this.lent.delete(buffer)) this.spare.push(buffer);
  }

  /** The consumer is done with `chunk` (once per chunk): its buffer may be read into again. */
  release(chunk: Buffer): void {
    const buffer = this.owned.get(chunk.buffer);
    if (buffer !== undefined) this.giveBack(buffer);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (this.fd === undefined) return callback(err);
    close(this.fd, () => callback(err));
    this.fd = undefined;
  }
}
