import { BulkClientError, ExportFailedError, parseOutcome } from './errors.js';
import type { EventListener } from './events.js';
import { header } from './http.js';
import type { HttpResponse, HttpSession } from './http.js';
import { parseManifest } from './manifest.js';
import type { ManifestDocument } from './manifest.js';
import { PollPace } from './poll-pace.js';
import { serverTimingHoldMs } from './server-timing.js';
import { backoff, parseRetryAfter } from './waits.js';

/** A manifest page as the poller saw it. */
export interface PolledPage {
  url: string;
  /** False for a partial manifest returned with 202: the page may still grow. */
  final: boolean;
  manifest: ManifestDocument;
  /** When its file URLs expire, in the client clock's milliseconds: the `Expires` header, when there is one. */
  expires?: number;
}

/**
 * The `Expires` of an answer on the client's clock. It is taken relative to the answer's `Date`, so a
 * client clock that is off does not make fresh URLs look expired, or expired ones fresh.
 */
function expiresOf(res: HttpResponse, now: number): number | undefined {
  const expires = Date.parse(header(res, 'expires') ?? '');
  if (Number.isNaN(expires)) return undefined;
  const date = Date.parse(header(res, 'date') ?? '');
  return Number.isNaN(date) ? expires : now + (expires - date);
}

/** The job status an answer carries: X-Export-Status when the server separates it (IG §3.2), else the HTTP status. */
function jobStatus(status: number, xExportStatus: string | undefined): number {
  if (status === 200 && xExportStatus) {
    const code = Number.parseInt(xExportStatus, 10);
    if (Number.isInteger(code)) return code;
  }
  return status;
}

/**
 * Poll a status URL, then each `link` next URL, yielding manifest pages as they appear (IG §4 and §6).
 * Every page URL is treated like the status URL: 202 means poll again (after Retry-After, or an
 * exponential backoff when there is none; sooner near the job's end with early polling, see
 * poll-pace.ts), 200 means the page is final. The export is complete after a
 * final page without `next`. 429 and transient errors are retried by the HTTP session.
 * @throws ExportFailedError when the job failed or is gone.
 */
export async function* pollManifest(
  http: HttpSession,
  startUrl: string,
  options: { signal?: AbortSignal; onEvent?: EventListener } = {},
): AsyncGenerator<PolledPage> {
  const { signal } = options;
  const emit = options.onEvent ?? (() => undefined);
  let url = startUrl;
  let polls = 0;
  let pace = new PollPace(http.waits.earlyPoll);
  // The first poll may be held as long as the first backoff; later ones as long as the last wait.
  let hold = holdSeconds(http.waits.pollBaseMs);
  for (;;) {
    let res;
    try {
      res = await http.send({
        url,
        headers: { accept: 'application/json', ...(hold > 0 ? { prefer: `wait=${hold}` } : {}) },
        authorize: true,
        retry: 'all',
        accept: (s) => s === 200 || s === 202,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (err instanceof BulkClientError && err.status !== undefined) {
        throw new ExportFailedError(`export failed: ${err.message}`, {
          status: err.status,
          ...(err.url !== undefined ? { url: err.url } : {}),
          ...(err.outcome ? { outcome: err.outcome } : {}),
          ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}),
          cause: err,
        });
      }
      throw err;
    }
    const status = jobStatus(res.status, header(res, 'x-export-status'));
    const expires = expiresOf(res, http.clock.now());
    const dated = expires === undefined ? {} : { expires };
    const text = await res.body.text();
    const progress = header(res, 'x-progress');
    if (progress) emit({ kind: 'progress', url, text: progress.slice(0, 100) });
    if (status >= 400) {
      const outcome = parseOutcome(text);
      throw new ExportFailedError(`export failed with status ${status}`, {
        status,
        url,
        ...(outcome ? { outcome } : {}),
      });
    }
    if (status === 202) {
      if (text.trim() !== '') yield { url, final: false, manifest: parseManifest(text, url), ...dated };
      // Only what the server says it held is taken off the wait: a slow answer is not a hold, and
      // polling again at once after one would break the server's pace (429).
      const held = hold > 0 ? serverTimingHoldMs(res.headers['server-timing']) : 0;
      const ms = await waitBeforePoll(http, pace, res, polls, progress, emit, url, signal, held);
      hold = holdSeconds(ms);
      polls++;
      continue;
    }
    const manifest = parseManifest(text, url);
    yield { url, final: true, manifest, ...dated };
    if (!manifest.next) return;
    url = manifest.next;
    polls = 0;
    pace = new PollPace(http.waits.earlyPoll);
  }
}

/** Most a poll asks the server to hold it (fhirhose holds at most 10 s; proxies may cut longer). */
const MAX_HOLD_SECONDS = 10;

/**
 * The `Prefer: wait` of the next poll (RFC 7240 section 4.3), in whole seconds at most the wait the
 * client would otherwise sleep before it: a server that holds polls answers as soon as the job ends, one
 * that does not answers at once and the client sleeps as before. 0 sends no preference.
 */
export function holdSeconds(waitMs: number): number {
  return Math.min(Math.floor(waitMs / 1000), MAX_HOLD_SECONDS);
}

/**
 * Sleep before the next poll of a 202: the server's Retry-After (or a backoff without one), shortened
 * by the pace when X-Progress says the job is nearly done, capped at `maxWaitMs`, less the time the
 * server held the poll (`heldMs`); emits the wait and returns it (before that deduction).
 */
export async function waitBeforePoll(
  http: HttpSession,
  pace: PollPace,
  res: HttpResponse,
  polls: number,
  progress: string | undefined,
  emit: EventListener,
  url: string,
  signal: AbortSignal | undefined,
  heldMs = 0,
): Promise<number> {
  const now = http.clock.now();
  const retryAfterMs = parseRetryAfter(res.headers['retry-after'], now);
  const { pollBaseMs, pollMaxMs, maxWaitMs, jitter } = http.waits;
  const wait = pace.next(
    { now, retryAfterMs, progress },
    retryAfterMs === undefined ? backoff(polls, pollBaseMs, pollMaxMs, jitter) : 0,
  );
  const ms = Math.min(wait.ms, maxWaitMs);
  emit({ kind: 'wait', url, reason: wait.reason, ms, requestedMs: retryAfterMs ?? wait.ms });
  await http.clock.sleep(Math.max(0, ms - heldMs), signal);
  return ms;
}
