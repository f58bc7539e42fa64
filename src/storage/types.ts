import type { Readable } from 'node:stream';

/** A finished output file. */
export interface FileInfo {
  name: string;
  bytes: number;
}

/** Where export files live (DESIGN.md: local directory now, S3-compatible later). */
export interface FileStorage {
  /** Open a file for writing; it becomes visible under `name` only after `commit`. */
  createWriter(jobId: string, name: string): Promise<FileWriter>;
  /** Size of a finished file, or undefined. */
  stat(jobId: string, name: string): Promise<FileInfo | undefined>;
  /** Stream a finished file, optionally a byte range [start, end] inclusive. */
  read(jobId: string, name: string, range?: { start: number; end: number }): Readable;
  /** Remove the files of a job whose names start with `prefix`. */
  removePrefix(jobId: string, prefix: string): Promise<void>;
  /** Remove every file of a job. */
  removeJob(jobId: string): Promise<void>;
}

/** A file being written. */
export interface FileWriter {
  /** Write text or UTF-8 bytes; resolves once the chunk is accepted (backpressure respected). */
  write(chunk: string | Uint8Array): Promise<void>;
  /** Bytes written so far. */
  readonly bytes: number;
  /** Flush, sync and move the file to its final name. */
  commit(): Promise<FileInfo>;
  /** Discard the partial file. */
  abort(): Promise<void>;
}
