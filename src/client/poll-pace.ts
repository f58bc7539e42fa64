/**
 * When to poll a running job again. Retry-After is a fixed interval, so a job that ends just after a
 * poll is noticed a whole interval later; on a fast export that idle time is a large part of the
 * client's end-to-end time. With early polling the client reads the job's progress (X-Progress,
 * "NN% complete"), estimates when it will finish from the rate seen so far (since its first poll, or
 * over the last interval when that is faster), and once that end is less than two Retry-Afters away
 * it polls at the shortest allowed wait (a quarter of Retry-After, plus a margin: the pace fhirhose's
 * own server allows before answering 429) until the job is done. The estimate is rough (X-Progress
 * moves in steps as units finish, and the last units can speed a job up or hold it back), so a single
 * poll aimed at it was often late by much of an interval; polling at the shortest wait bounds that
 * to one such wait, whichever way the estimate errs.
 */

/** What one poll answered, as the pace needs it. */
export interface PollAnswer {
  /** Client clock, in milliseconds. */
  now: number;
  /** The server's Retry-After in milliseconds, when it sent one. */
  retryAfterMs: number | undefined;
  /** The X-Progress header, when there was one. */
  progress: string | undefined;
}

/** How long to wait, and why. */
export interface PollWait {
  ms: number;
  reason: 'retry-after' | 'backoff' | 'early';
}

/** The shortest wait as a share of Retry-After: fhirhose answers 429 to polls closer than a quarter. */
export const EARLY_POLL_FLOOR = 0.25;
/** Margin over that floor, for timer and network jitter between the two clocks. */
const FLOOR_MARGIN = 1.2;
/** The end game starts when the estimated end is less than this many Retry-Afters away. */
export const END_GAME_RETRY_AFTERS = 2;

/** The percentage in an X-Progress text such as "42% complete", or undefined. */
export function progressPercent(text: string | undefined): number | undefined {
  const m = /(\d{1,3}(?:\.\d+)?)\s*%/.exec(text ?? '');
  if (!m) return undefined;
  const p = Number(m[1]);
  return p >= 0 && p <= 100 ? p : undefined;
}

/** Percent per millisecond from one sample to a later one; 0 when no time passed. */
function rateOf(from: { at: number; percent: number }, to: { at: number; percent: number }): number {
  const ms = to.at - from.at;
  return ms > 0 ? (to.percent - from.percent) / ms : 0;
}

/**
 * The polling pace of one manifest URL. Feed it every 202 answer; it returns the wait before the
 * next poll. Without early polling (or without a Retry-After or a readable progress) it returns the
 * plain wait: Retry-After, or the caller's backoff.
 */
export class PollPace {
  private first: { at: number; percent: number } | undefined;
  private last: { at: number; percent: number } | undefined;

  constructor(private readonly early: boolean) {}

  /** The wait after this answer; `fallbackMs` is the backoff used when there is no Retry-After. */
  next(answer: PollAnswer, fallbackMs: number): PollWait {
    const { retryAfterMs } = answer;
    if (retryAfterMs === undefined) return { ms: fallbackMs, reason: 'backoff' };
    const plain: PollWait = { ms: retryAfterMs, reason: 'retry-after' };
    const percent = progressPercent(answer.progress);
    if (!this.early || percent === undefined) return plain;
    const sample = { at: answer.now, percent };
    const { first, last } = this;
    this.last = sample;
    if (first === undefined || last === undefined || percent < last.percent) {
      this.first = sample;
      return plain;
    }
    // The faster of the rate since the first poll and over the last interval: a job's start (planning)
    // is slower than the rest, and an estimate too soon costs only one more poll the server allows.
    const rate = Math.max(rateOf(first, sample), rateOf(last, sample));
    // No progress seen yet: the rate is unknown, so keep the server's pace.
    if (!(rate > 0)) return plain;
    const remainingMs = (100 - percent) / rate;
    const floorMs = Math.ceil(retryAfterMs * EARLY_POLL_FLOOR * FLOOR_MARGIN);
    if (remainingMs >= retryAfterMs * END_GAME_RETRY_AFTERS || floorMs >= retryAfterMs) return plain;
    return { ms: floorMs, reason: 'early' };
  }
}
