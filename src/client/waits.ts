/** Time and waiting: an injectable clock, Retry-After parsing, and backoff with jitter. */

/** The client's clock; tests replace it to record waits instead of sleeping. */
export interface Clock {
  now(): number;
  /** Resolve after `ms`, or reject with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** How long the client waits and how often it retries. Every field is in milliseconds or a count. */
export interface WaitOptions {
  /** First poll interval when the server sends no Retry-After; it doubles on each poll. */
  pollBaseMs: number;
  /** Ceiling of the poll backoff when the server sends no Retry-After. */
  pollMaxMs: number;
  /** Cap on any single wait, including a server's Retry-After (IG §14.10: multi-hour values exist). */
  maxWaitMs: number;
  /** First delay before retrying a failed request (429, 5xx, network error); it doubles per attempt. */
  retryBaseMs: number;
  /** Retries of one request before it fails (a 401 refresh is not counted). */
  retries: number;
  /** Fraction of each computed backoff that is randomised (0: none, 1: full jitter). */
  jitter: number;
  /**
   * Poll sooner than Retry-After when X-Progress says the job is about to finish, never sooner than
   * a quarter of Retry-After (poll-pace.ts). Off: always wait the full Retry-After.
   */
  earlyPoll: boolean;
}

/** Defaults for real servers. Tests pass small values so they run fast. */
export const DEFAULT_WAITS: Readonly<WaitOptions> = Object.freeze({
  pollBaseMs: 1_000,
  pollMaxMs: 60_000,
  maxWaitMs: 300_000,
  retryBaseMs: 1_000,
  retries: 6,
  jitter: 0.5,
  earlyPoll: true,
});

/**
 * Parse Retry-After (RFC 9110 §10.2.3) in either form, delta-seconds or an HTTP-date, into milliseconds
 * from `now`. Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Exponential backoff `base * 2^attempt`, capped, with the jitter fraction randomised. */
export function backoff(
  attempt: number,
  base: number,
  cap: number,
  jitter: number,
  random: () => number = Math.random,
): number {
  const full = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.round(full * (1 - jitter) + full * jitter * random());
}
