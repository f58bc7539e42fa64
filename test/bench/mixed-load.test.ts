import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_RETRY_WAIT_MS,
  clientSpan,
  retryWaitMs,
  summarizeMixed,
} from '../../src/bench/mixed-load.js';
import type { ClientSpan } from '../../src/bench/mixed-load.js';

const span = (firstKickoffAt: number, lastManifestAt: number, resources = 100): ClientSpan => ({
  firstKickoffAt,
  lastManifestAt,
  resources,
});

describe('clientSpan', () => {
  it('runs from the earliest kick-off to the latest manifest and adds up the resources', () => {
    const got = clientSpan([
      { kickoffAt: 1_010, manifestAt: 3_000, resources: 50 },
      { kickoffAt: 1_000, manifestAt: 9_000, resources: 20 },
      { kickoffAt: 1_020, manifestAt: 2_000, resources: 5 },
    ]);
    assert.deepEqual(got, { firstKickoffAt: 1_000, lastManifestAt: 9_000, resources: 75 });
  });

  it('rejects no exports and a manifest before its kick-off as programmer errors', () => {
    assert.throws(() => clientSpan([]), TypeError);
    assert.throws(() => clientSpan([{ kickoffAt: 5, manifestAt: 4, resources: 1 }]), TypeError);
  });
});

describe('summarizeMixed', () => {
  it('divides the slowest and the fastest client by the time alone', () => {
    const alone = span(0, 10_000);
    const got = summarizeMixed(alone, [span(0, 12_000), span(5, 35_005), span(10, 20_010)]);
    assert.equal(got.aloneSeconds, 10);
    assert.deepEqual(got.clientSeconds, [12, 35, 20]);
    assert.equal(got.slowestClient, 1);
    assert.equal(got.slowestRatio, 3.5);
    assert.equal(got.fastestRatio, 1.2);
  });

  it('measures the aggregate from the first kick-off of any client to the last manifest of any', () => {
    const got = summarizeMixed(span(0, 1_000), [span(2_000, 4_000, 300), span(1_000, 3_000, 500)]);
    assert.equal(got.seconds, 3);
    assert.equal(got.resources, 800);
    assert.equal(got.rate, 800 / 3);
  });

  it('gives as floor the whole mixed run over the time alone: some client always finishes last', () => {
    const got = summarizeMixed(span(0, 10_000), [span(0, 50_000, 100), span(0, 20_000, 100)]);
    assert.equal(got.floorRatio, 5);
    assert.equal(got.slowestRatio, 5);
  });

  it('gives a ratio of 1 to clients that share nothing, as if each ran alone', () => {
    const got = summarizeMixed(span(0, 4_000), [span(0, 4_000), span(100, 4_100)]);
    assert.equal(got.slowestRatio, 1);
    assert.equal(got.fastestRatio, 1);
  });

  it('rejects no clients and a time alone of zero as programmer errors', () => {
    assert.throws(() => summarizeMixed(span(0, 1_000), []), TypeError);
    assert.throws(() => summarizeMixed(span(7, 7), [span(0, 1_000)]), TypeError);
  });
});

describe('retryWaitMs', () => {
  it("waits for the server's Retry-After", () => {
    assert.equal(retryWaitMs(5_000, 60_000), 5_000);
  });

  it('waits one second when the answer names no Retry-After', () => {
    assert.equal(retryWaitMs(undefined, 60_000), DEFAULT_RETRY_WAIT_MS);
  });

  it("never waits past the run's deadline, nor a negative time", () => {
    assert.equal(retryWaitMs(30_000, 2_000), 2_000);
    assert.equal(retryWaitMs(1_000, -5), 0);
  });
});
