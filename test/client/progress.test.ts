import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createReporter, summarize } from '../../src/client/index.js';
import type { ClientEvent, ExportSummary, FileRecord } from '../../src/client/index.js';
import { ProgressTracker } from '../../src/client/progress.js';
import { duration, statusLine, summaryLines } from '../../src/client/reporter.js';

const pat: FileRecord = {
  kind: 'output',
  url: 'http://s/p',
  type: 'Patient',
  count: 60,
  path: 'output/Patient.1.ndjson',
};
const obs: FileRecord = {
  kind: 'output',
  url: 'http://s/o',
  type: 'Observation',
  count: 40,
  path: 'output/Observation.1.ndjson',
};

/** A tracker on a clock the test moves. */
function tracked(): { tracker: ProgressTracker; at: (ms: number, ...events: ClientEvent[]) => void } {
  let now = 0;
  const tracker = new ProgressTracker(() => now);
  return {
    tracker,
    at: (ms, ...events) => {
      now = ms;
      for (const e of events) tracker.listener(e);
    },
  };
}

describe('ProgressTracker', () => {
  test('follows the phases, the server percentage, rates and ETA from events alone', () => {
    const { tracker, at } = tracked();
    at(0, { kind: 'kickoff-request', url: 'http://s/$export' });
    assert.equal(tracker.snapshot().phase, 'kick-off');
    at(100, { kind: 'kickoff', statusUrl: 'http://s/status/1' });
    assert.equal(tracker.snapshot().phase, 'waiting');
    at(1100, { kind: 'progress', url: 'http://s/status/1', text: '40% complete' });
    at(1100, { kind: 'wait', url: 'http://s/status/1', reason: 'retry-after', ms: 2000, requestedMs: 2000 });
    let s = tracker.snapshot();
    assert.equal(s.serverPercent, 40);
    assert.equal(s.serverText, '40% complete');
    // 1 s for 40%: 1.5 s more for the other 60%.
    assert.equal(s.etaMs, 1500);
    assert.deepEqual([s.waits, s.waitedMs, s.nextPollMs], [1, 2000, 2000]);
    at(1400);
    assert.equal(tracker.snapshot().nextPollMs, 1700);
    at(1500, {
      kind: 'manifest',
      url: 'http://s/status/1',
      final: true,
      files: 2,
      newFiles: 2,
      newResources: 100,
      newUncounted: 0,
      complete: true,
    });
    at(1500, { kind: 'file-start', file: pat, resumeFrom: 0, resumeLines: 0 });
    at(2000, { kind: 'file-bytes', file: pat, bytes: 1000, fileBytes: 1000, lines: 10 });
    at(3000, { kind: 'file-bytes', file: pat, bytes: 5000, fileBytes: 6000, lines: 60 });
    at(3000, { kind: 'retry', url: pat.url, attempt: 1, ms: 5, requestedMs: 5, status: 503 });
    s = tracker.snapshot();
    assert.equal(s.phase, 'downloading');
    assert.deepEqual(s.files, { total: 2, done: 0, failed: 0, active: 1 });
    assert.equal(s.resources, 60);
    assert.equal(s.expectedResources, 100);
    // 60 resources and 6000 bytes in the 1.5 s since the first download started.
    assert.equal(s.resourcesPerSecond, 40);
    assert.equal(s.bytesPerSecond, 4000);
    assert.equal(s.etaMs, 1000);
    assert.equal(s.retries, 1);
    at(3200, { kind: 'file-done', file: { ...pat, status: 'done', lines: 60, bytes: 6000, skipped: false } });
    // A file a resumed run found complete counts in the totals, not in what this run downloaded.
    at(3200, { kind: 'file-done', file: { ...obs, status: 'done', lines: 40, bytes: 4000, skipped: true } });
    s = tracker.snapshot();
    assert.equal(s.phase, 'done');
    assert.deepEqual(
      [s.resources, s.bytes, s.downloadedResources, s.downloadedBytes],
      [100, 10000, 60, 6000],
    );
    assert.equal(s.downloadMs, 1700);
    assert.equal(s.elapsedMs, 3200);
  });

  test('a resumed part counts its lines on disk as there before, not as downloaded', () => {
    const { tracker, at } = tracked();
    at(0, {
      kind: 'resume',
      statusUrl: 'http://s/1',
      files: 1,
      manifestComplete: true,
      resources: 60,
      uncounted: 0,
    });
    at(0, { kind: 'file-start', file: pat, resumeFrom: 3000, resumeLines: 30 });
    at(1000, { kind: 'file-bytes', file: pat, bytes: 3000, fileBytes: 6000, lines: 60 });
    const s = tracker.snapshot();
    assert.deepEqual([s.resources, s.downloadedResources, s.downloadedBytes], [60, 30, 3000]);
    assert.equal(s.resourcesPerSecond, 30);
  });

  test('without counts there is no expected total and no download ETA', () => {
    const { tracker, at } = tracked();
    at(0, { kind: 'kickoff', statusUrl: 'http://s/1' });
    at(0, {
      kind: 'manifest',
      url: 'http://s/1',
      final: true,
      files: 1,
      newFiles: 1,
      newResources: 0,
      newUncounted: 1,
      complete: true,
    });
    at(0, { kind: 'file-start', file: { ...pat, count: undefined } as FileRecord, resumeFrom: 0 });
    at(1000, { kind: 'file-bytes', file: pat, bytes: 10, fileBytes: 10, lines: 1 });
    const s = tracker.snapshot();
    assert.equal(s.expectedResources, undefined);
    assert.equal(s.etaMs, undefined);
  });
});

describe('reporter text', () => {
  test('durations and status lines read as sentences', () => {
    assert.deepEqual(
      [duration(8_400), duration(12_400), duration(125_000), duration(3_720_000)],
      ['8.4 s', '12 s', '2 min 05 s', '1 h 02 min'],
    );
    const { tracker, at } = tracked();
    at(0, { kind: 'kickoff', statusUrl: 'http://s/1' });
    at(3000, { kind: 'progress', url: 'http://s/1', text: '50% complete' });
    assert.equal(
      statusLine(tracker.snapshot()),
      '[00:03] waiting for the server: 50% complete, about 3.0 s left',
    );
  });

  test('the summary lists resources by type, time and rate, warnings and the first server issues', () => {
    const { tracker, at } = tracked();
    at(0, { kind: 'file-start', file: pat, resumeFrom: 0 });
    at(2000, {
      kind: 'file-done',
      file: { ...pat, status: 'done', lines: 60, bytes: 2_097_152, skipped: false },
    });
    tracker.finish();
    const summary: ExportSummary = {
      ...summarize(
        {
          version: 1,
          baseUrl: 'http://s',
          request: { level: 'system', params: {} },
          statusUrl: 'http://s/1',
          kickedOffAt: '2026-01-01T00:00:00Z',
          requiresAccessToken: false,
          files: [
            pat,
            {
              kind: 'error',
              url: 'http://s/e',
              type: 'OperationOutcome',
              path: 'error/OperationOutcome.1.ndjson',
            },
          ],
          verified: {},
        },
        new Map([
          [
            pat.path,
            {
              ...pat,
              status: 'done' as const,
              lines: 59,
              bytes: 2_097_152,
              skipped: false,
              countMismatch: {
                manifest: 60,
                lines: 59,
                message: 'the manifest count is 60 but the file holds 59 resources',
              },
            },
          ],
          [
            'error/OperationOutcome.1.ndjson',
            {
              kind: 'error' as const,
              url: 'http://s/e',
              path: 'error/OperationOutcome.1.ndjson',
              status: 'done' as const,
              lines: 3,
              bytes: 10,
              skipped: false,
            },
          ],
        ]),
      ),
      serverErrors: {
        issues: 3,
        first: [
          { path: 'error/OperationOutcome.1.ndjson', severity: 'error', code: 'processing', text: 'one' },
          { path: 'error/OperationOutcome.1.ndjson', text: 'two' },
        ],
      },
    };
    const lines = summaryLines(summary, tracker.snapshot(), 1);
    assert.deepEqual(lines, [
      'export complete: 2 files, 59 resources, 2.0 MB in 2.0 s (downloads 2.0 s: 30 resources/s, 1.0 MB/s)',
      '  resources by type: Patient 59',
      '  files: 1 output, 0 deleted, 1 error; transactionTime unknown',
      '  WARNING output/Patient.1.ndjson: the manifest count is 60 but the file holds 59 resources (file kept)',
      '  the server reported 3 issues in 1 error file:',
      '    error processing: one',
      '    ... and 2 more (see error/)',
    ]);
  });

  test('plain mode writes a status line at each phase change and on its interval', async () => {
    let text = '';
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    });
    const reporter = createReporter('plain', stream, { intervalMs: 30 });
    reporter.listener({ kind: 'kickoff-request', url: 'http://s/$export' });
    reporter.listener({ kind: 'kickoff', statusUrl: 'http://s/1' });
    await new Promise((r) => setTimeout(r, 100));
    reporter.stop();
    const lines = text.split('\n');
    assert.equal(lines[0], 'kick-off: requesting http://s/$export');
    assert.match(lines[1]!, /^\[00:00\] kick-off$/);
    assert.equal(lines[2], 'export accepted; status at http://s/1');
    assert.match(lines[3]!, /^\[00:00\] waiting for the server: no progress text yet$/);
    // The interval repeats the status while nothing else happens.
    assert.ok(lines.filter((l) => l.includes('waiting for the server')).length >= 2, text);
    const after = text;
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(text, after, 'no line after stop');
  });
});
