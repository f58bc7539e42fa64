import { PassThrough, Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { StorageError } from '../fhir/index.js';
import { checkName, checkPrefix } from './names.js';
import type { FileInfo, FileStorage, FileWriter, S3StorageConfig, SignedUrlOptions } from './types.js';

const NDJSON = 'application/fhir+ndjson';
const MIN_PART_BYTES = 5 * 1024 * 1024;
const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
/** Parts uploaded at once per file: one fills while one is sent. */
const PARTS_IN_FLIGHT = 2;
/** DeleteObjects takes at most 1,000 keys. */
const DELETE_BATCH = 1000;

function isMissing(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.name === 'NotFound' || err.name === 'NoSuchKey');
}

function storageError(message: string, err: unknown): StorageError {
  const retryable = err instanceof S3ServiceException && err.$retryable !== undefined;
  return new StorageError(message, { cause: err, retryable });
}

/**
 * One object being uploaded. The bytes go through a PassThrough into a streaming multipart upload
 * under the final key; S3 makes an object visible only when its upload completes (a single PUT, or
 * CompleteMultipartUpload), and that happens only in `commit`, when the stream ends. Memory stays
 * about PARTS_IN_FLIGHT parts, because `write` waits for the PassThrough to drain.
 */
class S3FileWriter implements FileWriter {
  private readonly body = new PassThrough({ highWaterMark: 1 << 20 });
  private readonly settled: Promise<void>;
  private failure: unknown;
  private written = 0;

  constructor(
    client: S3Client,
    target: { bucket: string; key: string; partSize: number },
    private readonly name: string,
  ) {
    // The upload reports its own failure through `settled`; a stream 'error' without a listener
    // would otherwise crash the process.
    this.body.on('error', () => undefined);
    const upload = new Upload({
      client,
      params: { Bucket: target.bucket, Key: target.key, Body: this.body, ContentType: NDJSON },
      partSize: target.partSize,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    this.settled = upload.done().then(
      () => undefined,
      (err: unknown) => {
        this.failure ??= err;
        // Wakes a writer waiting for 'drain' that would never come.
        this.body.destroy();
      },
    );
  }

  get bytes(): number {
    return this.written;
  }

  private check(): void {
    if (this.failure !== undefined) throw storageError('upload to S3 failed', this.failure);
  }

  async write(chunk: string | Uint8Array): Promise<void> {
    this.check();
    this.written += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (!this.body.write(chunk)) await this.drained();
    this.check();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.body.off('drain', done);
        this.body.off('close', done);
        resolve();
      };
      this.body.on('drain', done);
      this.body.on('close', done);
    });
  }

  async commit(): Promise<FileInfo> {
    this.check();
    this.body.end();
    await this.settled;
    this.check();
    return { name: this.name, bytes: this.written };
  }

  async abort(): Promise<void> {
    // An error (not a plain end) makes the upload fail instead of completing with what it has;
    // lib-storage then sends AbortMultipartUpload before `done()` settles, so no parts are left.
    this.failure ??= new StorageError('file aborted');
    this.body.destroy(this.failure as Error);
    await this.settled;
  }
}

/**
 * Export files in an S3-compatible bucket: `<prefix><jobId>/<name>`. Files are written by streaming
 * multipart upload and become visible only on commit; downloads may be served through the server
 * (`read`, with ranges) or by pre-signed GET URLs (`signedUrl`).
 */
export class S3Storage implements FileStorage {
  private readonly client: S3Client;
  private readonly partSize: number;

  constructor(private readonly config: S3StorageConfig) {
    if (config.prefix !== '' && !config.prefix.endsWith('/')) {
      throw new TypeError(`S3 key prefix must be empty or end in '/', got '${config.prefix}'`);
    }
    this.partSize = Math.max(config.partSizeBytes ?? DEFAULT_PART_BYTES, MIN_PART_BYTES);
    this.client = new S3Client({
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.credentials ? { credentials: config.credentials } : {}),
      // Checksums in aws-chunked trailers are not understood by many S3-compatible servers; payloads
      // of the parts are still covered by the SigV4 signature.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private key(jobId: string, name: string): string {
    return `${this.config.prefix}${checkName(jobId)}/${checkName(name)}`;
  }

  async createWriter(jobId: string, name: string): Promise<FileWriter> {
    const target = { bucket: this.config.bucket, key: this.key(jobId, name), partSize: this.partSize };
    return new S3FileWriter(this.client, target, name);
  }

  async stat(jobId: string, name: string): Promise<FileInfo | undefined> {
    const Key = this.key(jobId, name);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key }));
      return { name, bytes: head.ContentLength ?? 0 };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw storageError('cannot read file information from S3', err);
    }
  }

  read(jobId: string, name: string, range?: { start: number; end: number }): Readable {
    const command = new GetObjectCommand({
      Bucket: this.config.bucket,
      Key: this.key(jobId, name),
      ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
    });
    const client = this.client;
    // A generator, so that a consumer that stops early (a dropped download) ends the S3 response too.
    async function* chunks(): AsyncGenerator<Uint8Array> {
      let body: Readable;
      try {
        body = (await client.send(command)).Body as Readable;
      } catch (err) {
        throw storageError('cannot read file from S3', err);
      }
      yield* body;
    }
    return Readable.from(chunks(), { objectMode: false, highWaterMark: 1 << 20 });
  }

  async removePrefix(jobId: string, prefix: string): Promise<void> {
    await this.removeKeys(`${this.config.prefix}${checkName(jobId)}/${checkPrefix(prefix)}`);
  }

  async removeJob(jobId: string): Promise<void> {
    await this.removeKeys(`${this.config.prefix}${checkName(jobId)}/`);
  }

  private async removeKeys(prefix: string): Promise<void> {
    const Bucket = this.config.bucket;
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket,
            Prefix: prefix,
            MaxKeys: DELETE_BATCH,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        if (keys.length > 0) {
          const res = await this.client.send(
            new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys, Quiet: true } }),
          );
          if (res.Errors && res.Errors.length > 0) {
            throw new StorageError(`S3 refused to delete ${res.Errors.length} objects`, {
              cause: res.Errors[0],
              retryable: true,
            });
          }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw storageError('cannot remove files from S3', err);
    }
  }

  async signedUrl(jobId: string, name: string, options: SignedUrlOptions): Promise<string> {
    const command = new GetObjectCommand({ Bucket: this.config.bucket, Key: this.key(jobId, name) });
    return getSignedUrl(this.client, command, {
      expiresIn: options.expiresInSeconds,
      ...(options.now !== undefined ? { signingDate: new Date(options.now) } : {}),
    });
  }

  describe(): string {
    return `s3://${this.config.bucket}/${this.config.prefix}`;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
