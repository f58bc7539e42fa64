import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { request } from 'undici';
import { parseRetryAfter, serverTimingHoldMs } from '../client/index.js';

/** One file of a manifest. */
export interface ManifestEntry {
  type: string;
  url: string;
  count?: number;
}

/** The parts of a complete export manifest the bench reads. */
export interface Manifest {
  transactionTime: string;
  output: ManifestEntry[];
  error: ManifestEntry[];
}

/** An accepted kick-off. */
export interface Kickoff {
  statusUrl: string;
  /** performance.now() when the request was sent. */
  startedAt: number;
  /** Round trip of the kick-off request. */
  latencyMs: number;
}

/**
 * An access token for the next request, for servers with authorization on; called before every
 * request, so a token near its expiry is renewed.
 */
export type Bearer = () => Promise<string>;

/** A kick-off request: path below the base (`/$export?_type=Patient`), with an optional POST body. */
export interface KickoffRequest {
  path: string;
  body?: unknown;
  /** The client's token; without it the request is anonymous (servers with authorization off). */
  bearer?: Bearer;
}

/** A kick-off the server did not accept, with its status and Retry-After kept as data. */
export class KickoffRefusedError extends Error {
  override readonly name = 'KickoffRefusedError';
  constructor(
    message: string,
    readonly status: number,
    /** The answer's Retry-After in ms, when it sent one. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }

  /** Whether the server refused for load (429 Too Many Requests): worth retrying after Retry-After. */
  get throttled(): boolean {
    return this.status === 429;
  }
}

async function failure(what: string, status: number, body: { text(): Promise<string> }): Promise<Error> {
  return new Error(`${what} answered ${status}: ${(await body.text()).slice(0, 500)}`);
}

async function authorization(bearer: Bearer | undefined): Promise<Record<string, string>> {
  return bearer ? { authorization: `Bearer ${await bearer()}` } : {};
}

/**
 * Start an export and return its status URL.
 * @throws KickoffRefusedError unless the server answers 202 with Content-Location
 */
export async function kickoff(base: string, req: KickoffRequest): Promise<Kickoff> {
  const headers: Record<string, string> = {
    accept: 'application/fhir+json',
    prefer: 'respond-async',
    ...(await authorization(req.bearer)),
  };
  if (req.body !== undefined) headers['content-type'] = 'application/fhir+json';
  const startedAt = performance.now();
  const res = await request(base + req.path, {
    method: req.body === undefined ? 'GET' : 'POST',
    headers,
    ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
  });
  const latencyMs = performance.now() - startedAt;
  const location = res.headers['content-location'];
  if (res.statusCode !== 202 || typeof location !== 'string') {
    const { message } = await failure('kick-off', res.statusCode, res.body);
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], Date.now());
    throw new KickoffRefusedError(message, res.statusCode, retryAfterMs);
  }
  await res.body.dump();
  return { statusUrl: location, startedAt, latencyMs };
}

/** How to poll a status URL. */
export interface PollOptions {
  /** Least time from one poll to the next: a server that holds polls is not polled again sooner. */
  intervalMs: number;
  /**
   * Every poll's round trip is appended here, in ms, less the time the server held it (its
   * `Server-Timing: hold;dur=` metric): the time to answer, not the time waited for the job.
   */
  latenciesMs: number[];
  /** Give up after this long. */
  timeoutMs: number;
  /** The token of the client that started the export, when authorization is on. */
  bearer?: Bearer;
}

/** A completed export, as its status URL reported it. */
export interface Completion {
  manifest: Manifest;
  /** performance.now() when the 200 answer arrived. */
  completedAt: number;
  polls: number;
  throttled: number;
}

/**
 * How long every status poll asks to be held (RFC 7240 `Prefer: wait`): fhirhose answers it as soon as
 * the job ends, so an export's time no longer rounds up to the next poll; a server that does not hold
 * polls answers at once and is polled every `intervalMs` as before. Every scenario polls this way.
 */
export const HOLD_SECONDS = 5;

/**
 * Poll a status URL, each poll held up to {@link HOLD_SECONDS} and at least `intervalMs` apart, until
 * it answers 200 with the manifest.
 * @throws Error on any answer other than 200, 202 or 429, or after `timeoutMs`
 */
export async function awaitManifest(statusUrl: string, options: PollOptions): Promise<Completion> {
  const deadline = performance.now() + options.timeoutMs;
  let polls = 0;
  let throttled = 0;
  while (performance.now() < deadline) {
    const headers = {
      accept: 'application/json',
      prefer: `wait=${HOLD_SECONDS}`,
      ...(await authorization(options.bearer)),
    };
    const sent = performance.now();
    const res = await request(statusUrl, { headers });
    const arrived = performance.now();
    options.latenciesMs.push(arrived - sent - serverTimingHoldMs(res.headers['server-timing']));
    polls++;
    if (res.statusCode === 200) {
      const manifest = (await res.body.json()) as Manifest;
      return { manifest, completedAt: arrived, polls, throttled };
    }
    if (res.statusCode !== 202 && res.statusCode !== 429)
      throw await failure('status', res.statusCode, res.body);
    await res.body.dump();
    if (res.statusCode === 429) throttled++;
    await sleep(res.statusCode === 429 ? 1000 : Math.max(0, options.intervalMs - (arrived - sent)));
  }
  throw new Error(`export at ${statusUrl} did not complete within ${options.timeoutMs / 1000} s`);
}

/** Bytes moved by a download. */
export interface Downloaded {
  /** Bytes after decoding. */
  bytes: number;
  /** Bytes on the wire (smaller with gzip). */
  wireBytes: number;
}

/**
 * Download every URL, `parallel` at a time, decoding gzip, and discard the bytes.
 * @throws Error when a file does not answer 200
 */
export async function downloadAll(
  urls: readonly string[],
  gzip: boolean,
  parallel: number,
): Promise<Downloaded> {
  const total: Downloaded = { bytes: 0, wireBytes: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < urls.length) {
      const url = urls[next++]!;
      const got = await downloadOne(url, gzip);
      total.bytes += got.bytes;
      total.wireBytes += got.wireBytes;
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, urls.length) }, worker));
  return total;
}

async function downloadOne(url: string, gzip: boolean): Promise<Downloaded> {
  const res = await request(url, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} });
  if (res.statusCode !== 200) throw await failure(`download of ${url}`, res.statusCode, res.body);
  const got: Downloaded = { bytes: 0, wireBytes: 0 };
  const wire = new Transform({
    transform(chunk: Buffer, _enc, done) {
      got.wireBytes += chunk.length;
      done(null, chunk);
    },
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      got.bytes += chunk.length;
      done();
    },
  });
  if (res.headers['content-encoding'] === 'gzip') await pipeline(res.body, wire, createGunzip(), sink);
  else await pipeline(res.body, wire, sink);
  return got;
}

/**
 * DELETE a job, which removes its files.
 * @param bearer - the token of the client that owns the job, when authorization is on
 * @throws Error unless the server answers 202
 */
export async function deleteJob(statusUrl: string, bearer?: Bearer): Promise<void> {
  const res = await request(statusUrl, { method: 'DELETE', headers: await authorization(bearer) });
  if (res.statusCode !== 202) throw await failure('DELETE', res.statusCode, res.body);
  await res.body.dump();
}

/**
 * One GET `[base]/metadata`, so a fresh server has answered a request before it is measured.
 * @throws Error unless it answers 200
 */
export async function warmUp(base: string): Promise<void> {
  const res = await request(`${base}/metadata`, { headers: { accept: 'application/fhir+json' } });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`GET /metadata answered ${res.statusCode}`);
}

/** GET `[base]/metadata` back to back until `signal` aborts, appending each round trip in ms. */
export async function metadataLoop(base: string, signal: AbortSignal, latenciesMs: number[]): Promise<void> {
  while (!signal.aborted) {
    const sent = performance.now();
    const res = await request(`${base}/metadata`, { headers: { accept: 'application/fhir+json' } });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`GET /metadata answered ${res.statusCode}`);
    latenciesMs.push(performance.now() - sent);
  }
}

/**
 * Create a Group of the given patients through the REST API; returns its id.
 * @throws Error unless the server answers 201 with the created Group
 */
export async function postGroup(base: string, patientIds: readonly string[]): Promise<string> {
  const group = {
    resourceType: 'Group',
    type: 'person',
    actual: true,
    name: `fhirhose bench: ${patientIds.length} patients`,
    member: patientIds.map((id) => ({ entity: { reference: `Patient/${id}` } })),
  };
  const res = await request(`${base}/Group`, {
    method: 'POST',
    headers: {
      'content-type': 'application/fhir+json',
      accept: 'application/fhir+json',
      prefer: 'return=representation',
    },
    body: JSON.stringify(group),
  });
  if (res.statusCode !== 201) throw await failure('POST /Group', res.statusCode, res.body);
  const created = (await res.body.json()) as { id?: unknown };
  if (typeof created.id !== 'string') throw new Error('POST /Group returned no id');
  return created.id;
}
