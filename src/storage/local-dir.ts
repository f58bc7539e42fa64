import { createWriteStream, fdatasync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { StorageError } from '../fhir/index.js';
import { checkName, checkPrefix } from './names.js';
import { PooledFileReader } from './pooled-file-reader.js';
import type { FileInfo, FileReadStream, FileStorage, FileWriter } from './types.js';

// Flush to disk in the background every this many bytes, so the disk writes while the export still
// computes, and the sync on commit has only the tail left: a file is not written twice as long.
const SYNC_EVERY_BYTES = 16 * 1024 * 1024;
/** Bytes per read of a download. */
const READ_CHUNK_BYTES = 256 * 1024;
/**
 * Writes in flight per file, whatever their size. Callers fill their chunks in buffers that come back
 * once written (`released`), from pools of a few buffers: the stream's own limit, in bytes, let a
 * projection's small chunks (a fifth of their buffers) pile up by the dozen, so each pool ran dry and
 * every other chunk was a new buffer, freed only by a collection.
 */
const MAX_PENDING_WRITES = 3;

class LocalFileWriter implements FileWriter {
  private readonly stream: WriteStream;
  private written = 0;
  private unsynced = 0;
  private syncing: Promise<void> | undefined;
  private fd: number | undefined;
  private failure: Error | undefined;
  /** Writes whose callback has not come yet, and the writer waiting for one to come. */
  private pending = 0;
  private onWritten: (() => void) | undefined;

  constructor(
    private readonly tempPath: string,
    private readonly finalPath: string,
    private readonly name: string,
  ) {
    this.stream = createWriteStream(tempPath, { highWaterMark: 1 << 20 });
    this.stream.on('open', (fd: number) => {
      this.fd = fd;
    });
    this.stream.on('error', (err) => {
      this.failure = err;
    });
  }

  get bytes(): number {
    return this.written;
  }

  async write(chunk: string | Uint8Array, released?: () => void): Promise<void> {
    if (this.failure) throw new StorageError('file write failed', { cause: this.failure });
    const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    this.written += bytes;
    this.unsynced += bytes;
    this.pending += 1;
    const room = this.stream.write(chunk, () => {
      this.pending -= 1;
      released?.();
      this.onWritten?.();
    });
    if (!room) await this.drained();
    else if (this.pending >= MAX_PENDING_WRITES) await this.oneWritten();
    if (this.unsynced >= SYNC_EVERY_BYTES && this.syncing === undefined) this.syncBehind();
  }

  /** Start an fdatasync of what was written so far; at most one runs at a time. */
  private syncBehind(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.unsynced = 0;
    this.syncing = new Promise((resolve) => {
      fdatasync(fd, (err) => {
        if (err) this.failure ??= err;
        this.syncing = undefined;
        resolve();
      });
    });
  }

  /** Wait until a write in flight completes, or the stream fails or closes. */
  private oneWritten(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.onWritten = undefined;
        this.stream.off('error', done);
        this.stream.off('close', done);
        resolve();
      };
      this.onWritten = done;
      this.stream.on('error', done);
      this.stream.on('close', done);
    });
  }

  /** Wait for 'drain', or fail on 'error'; both listeners are removed either way. */
  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        this.stream.off('drain', onDrain);
        this.stream.off('error', onError);
        if (err) reject(new StorageError('file write failed', { cause: err }));
        else resolve();
      };
      const onDrain = (): void => done();
      const onError = (err: Error): void => done(err);
      this.stream.on('drain', onDrain);
      this.stream.on('error', onError);
    });
  }

  async commit(): Promise<FileInfo> {
    // The stream closes its descriptor on end: no sync may be running on it then.
    await this.syncing;
    this.stream.end();
    await once(this.stream, 'finish');
    if (this.failure) throw new StorageError('file write failed', { cause: this.failure });
    const fh = await open(this.tempPath, 'r');
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(this.tempPath, this.finalPath);
    return { name: this.name, bytes: this.written };
  }

  async abort(): Promise<void> {
    await this.syncing;
    // The stream opens its file asynchronously: unlinking before it has closed would let that open
    // create the `.part` file again after the unlink, and leave it behind.
    if (!this.stream.closed) {
      const closed = once(this.stream, 'close');
      this.stream.destroy();
      // A stream that fails to open has nothing to remove: abort never throws.
      await closed.catch(() => undefined);
    }
    await unlink(this.tempPath).catch(() => undefined);
  }
}

/** Export files in a local folder: `<root>/<jobId>/<name>`, written as `.part` then renamed. */
export class LocalDirStorage implements FileStorage {
  constructor(private readonly root: string) {}

  private dir(jobId: string): string {
    return join(this.root, checkName(jobId));
  }

  async createWriter(jobId: string, name: string): Promise<FileWriter> {
    const dir = this.dir(jobId);
    await mkdir(dir, { recursive: true });
    const finalPath = join(dir, checkName(name));
    return new LocalFileWriter(`${finalPath}.part`, finalPath, name);
  }

  async stat(jobId: string, name: string): Promise<FileInfo | undefined> {
    // Outside the try: a bad name is the caller's invalid request, not a storage failure.
    const path = join(this.dir(jobId), checkName(name));
    try {
      const info = await stat(path);
      return info.isFile() ? { name, bytes: info.size } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StorageError('cannot read file', { cause: err });
    }
  }

  read(jobId: string, name: string, range?: { start: number; end: number }): FileReadStream {
    const path = join(this.dir(jobId), checkName(name));
    // Each read allocates a buffer of this size, held until the socket has sent it and V8 collects
    // it; with several fast downloads 1 MiB reads added tens of MiB to the server's peak RSS.
    return new PooledFileReader(path, range, READ_CHUNK_BYTES);
  }

  async removePrefix(jobId: string, prefix: string): Promise<void> {
    checkPrefix(prefix);
    let names: string[];
    try {
      names = await readdir(this.dir(jobId));
    } catch {
      return;
    }
    await Promise.all(
      names.filter((n) => n.startsWith(prefix)).map((n) => rm(join(this.dir(jobId), n), { force: true })),
    );
  }

  async removeJob(jobId: string): Promise<void> {
    await rm(this.dir(jobId), { recursive: true, force: true });
  }

  describe(): string {
    return this.root;
  }

  async close(): Promise<void> {}
}
