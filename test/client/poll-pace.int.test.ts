import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BulkDataClient } from '../../src/client/index.js';
import { tempDir } from '../helpers/temp.js';
import { startFaultServer } from './fault-server.js';
import type { FaultFile } from './fault-server.js';
import { FAST_WAITS, fakeClock, ndjson, recorder } from './helpers.js';

const FILES: FaultFile[] = [{ name: 'p1.ndjson', type: 'Patient', body: ndjson('Patient', 5), count: true }];

describe('early polling against a real HTTP server', () => {
  for (const earlyPoll of [true, false]) {
    test(`reads X-Progress and Retry-After to pick each wait (earlyPoll ${earlyPoll})`, async (t) => {
      const server = await startFaultServer(t, {
        files: FILES,
        status: [
          { status: 202, retryAfter: '1', progress: '0% complete' },
          { status: 202, retryAfter: '1', progress: '50% complete' },
          { status: 202, retryAfter: '1', progress: '95% complete' },
        ],
      });
      const clock = fakeClock();
      const rec = recorder();
      const client = new BulkDataClient(server.baseUrl, {
        clock,
        waits: { ...FAST_WAITS, maxWaitMs: 60_000, earlyPoll },
        onEvent: rec.listener,
      });
      t.after(() => client.close());
      const summary = await client.export(
        { level: 'system', params: {} },
        { outDir: join(tempDir(t), 'out'), parallel: 1 },
      );
      assert.equal(summary.ok, true);
      const waits = rec.events.flatMap((e) => (e.kind === 'wait' ? [[e.reason, e.ms, e.requestedMs]] : []));
      assert.deepEqual(
        waits,
        earlyPoll
          ? [
              ['retry-after', 1000, 1000],
              ['early', 300, 1000], // 50% in 1 s: the end is 1 s away, so 0.3 x Retry-After
              ['early', 300, 1000], // 95%: still the shortest wait
            ]
          : [
              ['retry-after', 1000, 1000],
              ['retry-after', 1000, 1000],
              ['retry-after', 1000, 1000],
            ],
      );
      assert.deepEqual(
        clock.sleeps.slice(0, 3),
        waits.map((w) => w[1]),
      );
    });
  }
});
