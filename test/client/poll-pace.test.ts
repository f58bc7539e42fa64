import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EARLY_POLL_FLOOR, PollPace, progressPercent } from '../../src/client/poll-pace.js';
import type { PollWait } from '../../src/client/poll-pace.js';

/** Feed a pace a series of answers on a frozen clock: [time ms, X-Progress, Retry-After ms]. */
function waits(
  early: boolean,
  answers: [number, string | undefined, number | undefined][],
  fallbackMs = 777,
): PollWait[] {
  const pace = new PollPace(early);
  return answers.map(([now, progress, retryAfterMs]) =>
    pace.next({ now, progress, retryAfterMs }, fallbackMs),
  );
}

describe('progressPercent', () => {
  test('reads the percentage of an X-Progress text, or nothing', () => {
    assert.equal(progressPercent('42% complete'), 42);
    assert.equal(progressPercent('12.5 % done'), 12.5);
    assert.equal(progressPercent('100%'), 100);
    assert.equal(progressPercent('queued (3 ahead)'), undefined);
    assert.equal(progressPercent('250% complete'), undefined);
    assert.equal(progressPercent(undefined), undefined);
    assert.equal(progressPercent(''), undefined);
  });
});

describe('PollPace', () => {
  test('without a Retry-After, uses the backoff it is given', () => {
    assert.deepEqual(
      waits(true, [
        [0, '0% complete', undefined],
        [500, '90% complete', undefined],
      ]),
      [
        { ms: 777, reason: 'backoff' },
        { ms: 777, reason: 'backoff' },
      ],
    );
  });

  test('polls at 0.3 x Retry-After once the rate so far puts the end within two Retry-Afters', () => {
    assert.deepEqual(
      waits(true, [
        [0, '0% complete', 2000],
        [2000, '60% complete', 2000],
        [2600, '70% complete', 2000],
        [3200, '99% complete', 2000],
      ]),
      [
        { ms: 2000, reason: 'retry-after' }, // first sample: no rate yet
        { ms: 600, reason: 'early' }, // 40% left at 30%/s: 1.33 s, within 4 s
        { ms: 600, reason: 'early' }, // about 1.3 s left again: still the shortest wait
        { ms: 600, reason: 'early' },
      ],
    );
  });

  test('keeps polling at the shortest wait while the end stays within two Retry-Afters', () => {
    // A single poll aimed at the estimated end (1.5 s away here, so it waited the whole Retry-After)
    // noticed a job whose last units were faster or slower up to an interval late.
    assert.deepEqual(
      waits(true, [
        [0, '0% complete', 1000],
        [1000, '40% complete', 1000],
        [1300, '40% complete', 1000],
        [1600, '40% complete', 1000],
        [2600, '99% complete', 1000],
      ]),
      [
        { ms: 1000, reason: 'retry-after' },
        { ms: 300, reason: 'early' }, // 60% left at 40%/s: 1.5 s
        { ms: 300, reason: 'early' }, // no move in the last interval; 40% in 1.3 s since the first: 1.95 s
        { ms: 1000, reason: 'retry-after' }, // 40% in 1.6 s: 2.4 s left, the server's pace again
        { ms: 300, reason: 'early' },
      ],
    );
  });

  test('uses the last interval when it is faster than the rate since the first poll (a slow start)', () => {
    assert.deepEqual(
      waits(true, [
        [0, '0% complete', 1000],
        [1000, '2% complete', 1000],
        [2000, '40% complete', 1000],
      ]),
      [
        { ms: 1000, reason: 'retry-after' },
        { ms: 1000, reason: 'retry-after' }, // 98% left at 2%/s
        { ms: 300, reason: 'early' }, // 60% left at 38%/s: 1.6 s (at 20%/s since the first poll: 3 s)
      ],
    );
  });

  test('keeps Retry-After while the job is far from its end or has not moved', () => {
    assert.deepEqual(
      waits(true, [
        [0, '0% complete', 1000],
        [1000, '0% complete', 1000],
        [2000, '20% complete', 1000],
      ]),
      [
        { ms: 1000, reason: 'retry-after' },
        { ms: 1000, reason: 'retry-after' },
        { ms: 1000, reason: 'retry-after' }, // 80% left at 20%/s: 4 s, not within two Retry-Afters
      ],
    );
  });

  test('keeps Retry-After when turned off, or when the progress is unreadable', () => {
    const answers: [number, string | undefined, number | undefined][] = [
      [0, '0% complete', 1000],
      [1000, '98% complete', 1000],
    ];
    assert.deepEqual(waits(false, answers), [
      { ms: 1000, reason: 'retry-after' },
      { ms: 1000, reason: 'retry-after' },
    ]);
    assert.deepEqual(
      waits(true, [
        [0, 'queued (1 ahead)', 1000],
        [1000, 'queued (0 ahead)', 1000],
        [2000, 'running', 1000],
      ]).map((w) => w.reason),
      ['retry-after', 'retry-after', 'retry-after'],
    );
  });

  test('starts its estimate again when the progress goes backwards', () => {
    assert.deepEqual(
      waits(true, [
        [0, '50% complete', 1000],
        [1000, '10% complete', 1000],
        [2000, '90% complete', 1000],
      ]),
      [
        { ms: 1000, reason: 'retry-after' },
        { ms: 1000, reason: 'retry-after' },
        { ms: 300, reason: 'early' }, // from 10% at 1 s: 10% left at 80%/s
      ],
    );
  });

  test('never waits less than a quarter of Retry-After (plus margin) nor more than Retry-After', () => {
    let seed = 11;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let k = 0; k < 2000; k++) {
      const pace = new PollPace(true);
      let now = random(1000);
      let percent = 0;
      const retryAfterMs = 1000 * (1 + random(5));
      for (let poll = 0; poll < 8; poll++) {
        const w = pace.next({ now, progress: `${percent}% complete`, retryAfterMs }, 0);
        assert.ok(w.ms >= retryAfterMs * EARLY_POLL_FLOOR, `${w.ms} < floor of ${retryAfterMs}`);
        assert.ok(w.ms <= retryAfterMs, `${w.ms} > ${retryAfterMs}`);
        now += w.ms + random(50);
        percent = Math.min(99, percent + random(40));
      }
    }
  });
});
