import type { Readable } from 'node:stream';

/** A finished output file. */
export interface FileInfo {
  name: string;
  bytes: number;
}

/**
 * A finished file's bytes. Where it has `release`, a consumer that calls it once per chunk, when it
 * holds no reference to the chunk any more, lets the chunk's buffer be read into again.
 */
export interface FileReadStream extends Readable {
  release?(chunk: Buffer): void;
}

/** Where export files live: a local folder or an S3-compatible bucket (DESIGN.md). */
export interface FileStorage {
  /** Open a file for writing; it becomes visible under `name` only after `commit`. */
  createWriter(jobId: string, name: string): Promise<FileWriter>;
  /** Size of a finished file, or undefined. */
  stat(jobId: string, name: string): Promise<FileInfo | undefined>;
  /** Stream a finished file, optionally a byte range [start, end] inclusive. */
  read(jobId: string, name: string, range?: { start: number; end: number }): FileReadStream;
  /** Remove the files of a job whose names start with `prefix`. */
  removePrefix(jobId: string, prefix: string): Promise<void>;
  /** Remove every file of a job. */
  removeJob(jobId: string): Promise<void>;
  /**
   * A URL that lets anyone holding it GET a finished file for `expiresInSeconds` from `now` (epoch ms,
   * default the current time), without other credentials (a capability URL, Bulk IG F2). Only
   * storages that can sign URLs have it.
   */
  signedUrl?(jobId: string, name: string, options: SignedUrlOptions): Promise<string>;
  /** Where the files are, for logs: a folder or `s3://bucket/prefix`, never a credential. */
  describe(): string;
  /** Release connections; the storage is not used afterwards. */
  close(): Promise<void>;
}

/** Lifetime of a signed URL. */
export interface SignedUrlOptions {
  expiresInSeconds: number;
  /** Signing time, epoch ms; default now. */
  now?: number;
}

/** A file being written. */
export interface FileWriter {
  /**
   * Write text or UTF-8 bytes; resolves once the chunk is accepted (backpressure respected). A writer
   * may call `released` once it holds no reference to the chunk, so its buffer can be filled again.
   */
  write(chunk: string | Uint8Array, released?: () => void): Promise<void>;
  /** Bytes written so far. */
  readonly bytes: number;
  /** Flush, sync and move the file to its final name. */
  commit(): Promise<FileInfo>;
  /** Discard the partial file. */
  abort(): Promise<void>;
}

/** Export files in a local folder, one subfolder per job. */
export interface LocalStorageConfig {
  kind: 'local';
  root: string;
}

/** Static credentials for S3; absent means the AWS SDK's default provider chain. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Export files in an S3-compatible bucket, under `<prefix><jobId>/<name>`. */
export interface S3StorageConfig {
  kind: 's3';
  bucket: string;
  /** Key prefix: empty, or ending in `/`. */
  prefix: string;
  region: string;
  /** Endpoint of an S3-compatible server; absent for AWS S3. */
  endpoint?: string;
  /** Path-style addressing (`<endpoint>/<bucket>/<key>`), which most S3-compatible servers need. */
  forcePathStyle: boolean;
  credentials?: S3Credentials;
  /** Multipart part size; memory per open file is about twice this. Default 8 MiB, minimum 5 MiB. */
  partSizeBytes?: number;
}

/**
 * A storage described as plain data, so worker threads can build their own from `workerData`.
 * It may hold credentials: log `describe()` of the storage, never the config.
 */
export type StorageConfig = LocalStorageConfig | S3StorageConfig;
