import { createReadStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Transform as TransformStream } from 'node:stream';
import { BulkClientError, VerificationError } from './errors.js';
import type { EventListener, FileRecord, FileResult } from './events.js';
import { header, isAbort } from './http.js';
import type { HttpResponse, HttpSession } from './http.js';
import { FileSink } from './file-sink.js';
import { NdjsonVerifier } from './ndjson-verifier.js';
import type { LineExpectation, VerifyMode } from './ndjson-verifier.js';
import { backoff } from './waits.js';

/** Where and how to download one file. */
export interface DownloadOptions {
  outDir: string;
  /** Send the access token: the manifest's `requiresAccessToken` (IG §8.1, F3). */
  authorize: boolean;
  /** Offer gzip on full downloads (default true; IG §8.3 says a client SHOULD). */
  gzip?: boolean;
  /** A count that differs from the manifest fails the file (it is kept on disk either way). */
  strict?: boolean;
  /** How closely lines are checked (default `lines`; see VerifyMode). */
  verify?: VerifyMode;
  signal?: AbortSignal;
  onEvent?: EventListener;
}

/** The suffix of a file being downloaded; it gets its final name only once verified. */
export const PART_SUFFIX = '.part';

const EXPECTED_TYPE: Record<FileRecord['kind'], string | undefined> = {
  output: undefined,
  deleted: 'Bundle',
  error: 'OperationOutcome',
};

/** What the lines of a file must be. Organized output (no `type`) is not count-checked: header lines blur it. */
export function expectationOf(file: FileRecord, verify: VerifyMode = 'lines'): LineExpectation {
  const resourceType = file.kind === 'output' ? file.type : EXPECTED_TYPE[file.kind];
  const expect: LineExpectation = { verify };
  if (resourceType !== undefined) expect.resourceType = resourceType;
  if (file.count !== undefined && file.type !== undefined) expect.count = file.count;
  return expect;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** Feed a file on disk through a verifier, without writing. */
export async function verifyOnDisk(path: string, verifier: NdjsonVerifier): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    verifier.scan(chunk);
  }
}

function decoder(res: HttpResponse): TransformStream[] {
  const encoding = (header(res, 'content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') return [createGunzip()];
  if (encoding === 'identity' || encoding === '') return [];
  throw new BulkClientError(`unsupported Content-Encoding '${encoding}'`, {
    status: res.status,
    url: res.url,
  });
}

/** Bytes in `bytes a-b/n`, or the total in `bytes * /n`. */
function contentRange(res: HttpResponse): { start?: number; total?: number } {
  const m = /^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(header(res, 'content-range') ?? '');
  if (!m) return {};
  return {
    ...(m[1] !== undefined ? { start: Number(m[1]) } : {}),
    ...(m[2] !== '*' ? { total: Number(m[2]) } : {}),
  };
}

type Attempt = { done: true; verifier: NdjsonVerifier } | { done: false };

/**
 * One request for the rest of the file: resumes after the bytes already on disk with `Range` (identity
 * encoding, so offsets are those of the decoded file), or fetches it whole with gzip offered.
 */
async function attempt(
  http: HttpSession,
  file: FileRecord,
  part: string,
  options: DownloadOptions,
): Promise<Attempt> {
  const offset = (await sizeOf(part)) ?? 0;
  const verifier = offset > 0 ? new NdjsonVerifier(expectationOf(file, options.verify)) : undefined;
  if (verifier) {
    try {
      await verifyOnDisk(part, verifier);
    } catch (err) {
      if (!(err instanceof VerificationError)) throw err;
      await unlink(part);
      return attempt(http, file, part, options);
    }
  }
  options.onEvent?.({ kind: 'file-start', file, resumeFrom: offset, resumeLines: verifier?.lines ?? 0 });
  const headers: Record<string, string> = {
    accept: 'application/fhir+ndjson',
    'accept-encoding': offset > 0 || options.gzip === false ? 'identity' : 'gzip',
  };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  const res = await http.send({
    url: file.url,
    headers,
    authorize: options.authorize,
    retry: 'all',
    accept: (s) => s === 200 || s === 206 || s === 416,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const range = contentRange(res);
  if (res.status === 416 || (res.status === 206 && range.start !== offset)) {
    await res.body.dump();
    if (res.status === 416 && range.total === offset)
      return { done: true, verifier: verifier ?? new NdjsonVerifier(expectationOf(file, options.verify)) };
    await unlink(part).catch(() => undefined);
    return { done: false };
  }
  if (res.status === 200 || !verifier) {
    // A fresh download, or the server ignored Range: (again) from the first byte.
    return attemptBody(
      res,
      file,
      part,
      options,
      new NdjsonVerifier(expectationOf(file, options.verify)),
      'w',
    );
  }
  return attemptBody(res, file, part, options, verifier, 'a');
}

async function attemptBody(
  res: HttpResponse,
  file: FileRecord,
  part: string,
  options: DownloadOptions,
  verifier: NdjsonVerifier,
  flags: 'a' | 'w',
): Promise<Attempt> {
  const onEvent = options.onEvent;
  let decoders: TransformStream[];
  try {
    decoders = decoder(res);
  } catch (err) {
    await res.body.dump();
    throw err;
  }
  // Checked in the sink, before its bytes are written: one stream stage less per chunk.
  const inspect = (chunk: Buffer): void => {
    verifier.scan(chunk);
    onEvent?.({
      kind: 'file-bytes',
      file,
      bytes: chunk.length,
      fileBytes: verifier.bytes,
      lines: verifier.lines,
    });
  };
  const sink = new FileSink(part, { flags, inspect });
  try {
    await pipeline([res.body, ...decoders, sink], {
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    // Every byte received is on disk before the file is looked at again (a retry resumes after it).
    await sink.fileClosed;
  }
  return { done: true, verifier };
}

/**
 * The result of a file whose every line checked out: its count decides between done, done with a
 * warning, and (strict) failed. The file stays on disk in all three: the client keeps what it got.
 */
export function settled(
  file: FileRecord,
  verifier: NdjsonVerifier,
  strict: boolean,
  skipped: boolean,
): FileResult {
  const base = { ...file, lines: verifier.lines, bytes: verifier.bytes, skipped };
  const mismatch = verifier.countMismatch();
  if (!mismatch) return { ...base, status: 'done' };
  if (!strict) return { ...base, status: 'done', countMismatch: mismatch };
  return {
    ...base,
    status: 'failed',
    countMismatch: mismatch,
    error: { code: VerificationError.code, message: mismatch.message },
  };
}

function failed(file: FileRecord, err: unknown, verifier?: NdjsonVerifier): FileResult {
  const e = err as { code?: unknown; message?: unknown; status?: unknown };
  return {
    ...file,
    status: 'failed',
    lines: verifier?.lines ?? 0,
    bytes: verifier?.bytes ?? 0,
    skipped: false,
    error: {
      code: typeof e.code === 'string' ? e.code : 'FHIRHOSE_ERR_CLIENT_HTTP',
      message: typeof e.message === 'string' ? e.message : String(err),
      ...(typeof e.status === 'number' ? { status: e.status } : {}),
    },
  };
}

/**
 * Download one manifest file to `outDir/file.path`, streaming and verifying it on the way (never the
 * whole file in memory). A `.part` file left by an earlier run or a broken connection is resumed with
 * `Range`. Network errors, truncated bodies, 429 and 5xx are retried with backoff; a file with a bad
 * line is deleted so that a later run fetches it again, while a count that differs from the manifest
 * keeps the file (a warning, or with `strict` a failure).
 * @returns the result; it does not throw except when the signal aborts.
 */
export async function downloadFile(
  http: HttpSession,
  file: FileRecord,
  options: DownloadOptions,
): Promise<FileResult> {
  const target = join(options.outDir, file.path);
  const part = target + PART_SUFFIX;
  await mkdir(dirname(target), { recursive: true });
  for (let n = 0; ; n++) {
    try {
      const result = await attempt(http, file, part, options);
      if (!result.done) {
        if (n >= http.waits.retries)
          return failed(file, new BulkClientError(`${file.url}: Range answers do not match`));
        continue;
      }
      result.verifier.finishLines();
      await rename(part, target);
      return settled(file, result.verifier, options.strict === true, false);
    } catch (err) {
      if (isAbort(err, options.signal)) throw err;
      if (err instanceof VerificationError) {
        await unlink(part).catch(() => undefined);
        return failed(file, err);
      }
      // A status error has been retried by the session already; a broken body has not.
      if (err instanceof BulkClientError && err.status !== undefined) return failed(file, err);
      if (n >= http.waits.retries) return failed(file, err);
      const ms = backoff(n, http.waits.retryBaseMs, http.waits.maxWaitMs, http.waits.jitter);
      options.onEvent?.({
        kind: 'retry',
        url: file.url,
        attempt: n + 1,
        ms,
        requestedMs: ms,
        error: String((err as Error).message),
      });
      await http.clock.sleep(ms, options.signal);
    }
  }
}

/** Verify a finished file already on disk (after a crash that lost its recorded result). */
export async function verifyExisting(
  file: FileRecord,
  outDir: string,
  options: { strict?: boolean; verify?: VerifyMode } = {},
): Promise<FileResult> {
  const verifier = new NdjsonVerifier(expectationOf(file, options.verify));
  try {
    await verifyOnDisk(join(outDir, file.path), verifier);
    verifier.finishLines();
  } catch (err) {
    return failed(file, err, verifier);
  }
  return settled(file, verifier, options.strict === true, true);
}
