// `fhirhose export` as a person or a log collector sees it: status lines, JSON events, the summary,
// the server's error texts, and count mismatches kept (a warning) or failed (--strict). Real HTTP on
// loopback: our server, or the fault server where a manifest must be wrong (ours never is).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFaultServer } from '../client/fault-server.js';
import type { FaultFile } from '../client/fault-server.js';
import { ndjson } from '../client/helpers.js';
import { populate } from '../helpers/processes.js';
import { startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';

const BIN = new URL('../../../bin/fhirhose.js', import.meta.url).pathname;
const FAST = ['--max-wait', '0.3', '--poll-interval', '0.05'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI to its end without blocking this process (the servers live in it). */
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Run the CLI on a pseudo-terminal (script(1)); stdout and stderr come back together as `stdout`. */
function onTerminal(args: string[]): Promise<Run> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, COLUMNS: '100', LINES: '40' },
    });
    let stdout = '';
    // A live display left running would keep the command alive: fail instead of hanging.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: '' });
    });
  });
}

/** Resource lines per type in an output folder, counted from the files themselves. */
function typesOnDisk(out: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of readdirSync(join(out, 'output'))) {
    const type = name.split('.')[0]!;
    const lines = readFileSync(join(out, 'output', name), 'utf8')
      .split('\n')
      .filter((l) => l !== '').length;
    counts[type] = (counts[type] ?? 0) + lines;
  }
  return counts;
}

describe('fhirhose export progress against our server', () => {
  let srv: TestServer;
  const suite = suiteScope(after);

  before(async () => {
    srv = await startTestServer(suite);
    await populate(srv.runtime.store, 3000, 5);
  });

  test('plain lines on a non-terminal: each phase as it starts, and a summary with types and rate', async (t) => {
    const out = join(tempDir(t), 'out');
    const run = await cli(['export', srv.baseUrl, '--out', out, '--progress-every', '0.2', ...FAST]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '');
    const lines = run.stderr.split('\n');
    const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
    const kickoff = at(/^\[00:00\] kick-off$/);
    const waiting = at(/^\[\d\d:\d\d\] waiting for the server: /);
    const downloading = at(/^\[\d\d:\d\d\] downloading: \d+\/\d+ files, [\d,]+ of [\d,]+ resources, /);
    const summary = at(/^export complete: \d+ files, [\d,]+ resources, [\d.]+ MB in [\d.]+ s \(downloads /);
    assert.ok(at(/^kick-off: requesting http:\/\/127\.0\.0\.1:\d+\/\$export$/) >= 0, run.stderr);
    // The phases come in order, each announced when it starts.
    assert.ok(
      kickoff >= 0 && kickoff < waiting && waiting < downloading && downloading < summary,
      run.stderr,
    );
    assert.match(lines[summary]!, /: [\d,]+ resources\/s, [\d.]+ MB\/s\)$/);
    // The summary's resources by type are what the files on disk hold.
    const byType = /^ {2}resources by type: (.*)$/.exec(lines[summary + 1] ?? '')?.[1];
    assert.ok(byType, run.stderr);
    const listed = Object.fromEntries(
      byType.split(', ').map((p) => {
        const [type, n] = p.split(' ');
        return [type, Number(n!.replaceAll(',', ''))];
      }),
    );
    assert.deepEqual(listed, typesOnDisk(out));
    assert.ok((listed.Patient ?? 0) > 0 && (listed.Observation ?? 0) > 0, byType);
    assert.match(lines[summary + 2]!, /^ {2}files: \d+ output, 0 deleted, 0 error; transactionTime 20\d\d-/);
  });

  test('--json: the events, a status event per phase, and a summary with types, time and rates', async (t) => {
    const out = join(tempDir(t), 'out');
    const run = await cli([
      'export',
      srv.baseUrl,
      '--out',
      out,
      '--json',
      '--type',
      'Patient,Condition',
      ...FAST,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const kinds = events.map((e) => e.event);
    for (const k of ['kickoff-request', 'kickoff', 'manifest', 'file-done', 'status', 'summary']) {
      assert.ok(kinds.includes(k), `${k} in ${kinds.join(',')}`);
    }
    const phases = events.filter((e) => e.event === 'status').map((e) => e.phase);
    assert.deepEqual(phases.slice(0, 3), ['kick-off', 'waiting', 'downloading']);
    const manifest = events.find((e) => e.event === 'manifest')!;
    assert.equal(manifest.complete, true);
    const summary = events.at(-1)!;
    assert.equal(summary.event, 'summary');
    assert.equal(summary.ok, true);
    assert.deepEqual(summary.byType, typesOnDisk(out));
    assert.equal(manifest.newResources, summary.resources);
    assert.equal(typeof summary.elapsedMs, 'number');
    assert.ok((summary.resourcesPerSecond as number) > 0);
    assert.ok((summary.bytesPerSecond as number) > 0);
    assert.deepEqual(summary.serverErrors, { issues: 0, first: [] });
    assert.equal(summary.countMismatches, 0);
  });
});

const outcome = (i: number): string =>
  JSON.stringify({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'processing', diagnostics: `Observation unit ${i}: disk full` }],
  });

/** An export whose manifest counts are wrong for one output file and for its error file. */
const MISCOUNTED: FaultFile[] = [
  { name: 'pat.ndjson', type: 'Patient', body: ndjson('Patient', 20), count: true },
  { name: 'cond.ndjson', type: 'Condition', body: ndjson('Condition', 7), count: 9 },
  {
    name: 'err.ndjson',
    kind: 'error',
    type: 'OperationOutcome',
    body: `${Array.from({ length: 12 }, (_, i) => outcome(i)).join('\n')}\n`,
    count: 1,
  },
];

describe('fhirhose export keeps what it got', () => {
  test('by default: a count mismatch is a warning, every file is kept, the server error texts are shown', async (t) => {
    const server = await startFaultServer(t, {
      files: MISCOUNTED,
      fileFaults: { 'pat.ndjson': [{ status: 503 }] },
    });
    const out = join(tempDir(t), 'out');
    const run = await cli(['export', server.baseUrl, '--out', out, ...FAST]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stderr.split('\n');
    assert.match(run.stderr, /^export complete: 3 files, 27 resources, 0\.0 MB in [\d.]+ s /m);
    // The retry is shown as it happens.
    assert.match(
      run.stderr,
      /^retry 1 of http:\/\/127\.0\.0\.1:\d+\/files\/pat\.ndjson in [\d.]+ s \(503\)$/m,
    );
    assert.ok(
      lines.includes(
        '  WARNING output/Condition.1.ndjson: the manifest count is 9 but the file holds 7 resources (file kept)',
      ),
      run.stderr,
    );
    assert.ok(
      lines.includes(
        '  WARNING error/OperationOutcome.1.ndjson: the manifest count is 1 but the file holds 12 resources (file kept)',
      ),
      run.stderr,
    );
    const reported = lines.indexOf('  the server reported 12 issues in 1 error file:');
    assert.ok(reported > 0, run.stderr);
    assert.deepEqual(lines.slice(reported + 1, reported + 12), [
      ...Array.from({ length: 10 }, (_, i) => `    error processing: Observation unit ${i}: disk full`),
      '    ... and 2 more (see error/)',
    ]);
    assert.equal(readFileSync(join(out, 'output/Condition.1.ndjson'), 'utf8'), MISCOUNTED[1]!.body);
    assert.equal(readFileSync(join(out, 'error/OperationOutcome.1.ndjson'), 'utf8'), MISCOUNTED[2]!.body);
  });

  test('--strict: the mismatch fails the export with exit code 1, and the files are still kept', async (t) => {
    const server = await startFaultServer(t, { files: MISCOUNTED });
    const out = join(tempDir(t), 'out');
    const run = await cli(['export', server.baseUrl, '--out', out, '--strict', ...FAST]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^export INCOMPLETE: 2 of 3 files failed: /m);
    assert.match(
      run.stderr,
      /^ {2}FAILED \(--strict\) output\/Condition\.1\.ndjson: the manifest count is 9 but the file holds 7 resources \(file kept\)$/m,
    );
    assert.match(run.stderr, /^ {4}error processing: Observation unit 0: disk full$/m);
    assert.ok(existsSync(join(out, 'output/Condition.1.ndjson')));
    assert.ok(existsSync(join(out, 'error/OperationOutcome.1.ndjson')));

    // In JSON the summary lists the failed files and the mismatches.
    const json = await cli([
      'export',
      server.baseUrl,
      '--out',
      join(tempDir(t), 'j'),
      '--strict',
      '--json',
      ...FAST,
    ]);
    assert.equal(json.code, 1, json.stderr);
    const summary = JSON.parse(json.stdout.trim().split('\n').at(-1)!) as {
      ok: boolean;
      countMismatch: { path: string; manifest: number; lines: number }[];
      serverErrors: { issues: number };
    };
    assert.equal(summary.ok, false);
    assert.deepEqual(
      summary.countMismatch.map((m) => [m.path, m.manifest, m.lines]),
      [
        ['output/Condition.1.ndjson', 9, 7],
        ['error/OperationOutcome.1.ndjson', 1, 12],
      ],
    );
    assert.equal(summary.serverErrors.issues, 12);
  });

  test('on a terminal (a pseudo-terminal from script(1)): a live two-line status, then the summary', async (t) => {
    if (spawnSync('script', ['--version']).status !== 0) {
      t.skip('script(1) from util-linux is not installed');
      return;
    }
    const server = await startFaultServer(t, {
      files: [
        { name: 'pat.ndjson', type: 'Patient', body: ndjson('Patient', 20), count: true },
        { name: 'obs.ndjson', type: 'Observation', body: ndjson('Observation', 400), count: true },
      ],
      status: [{ status: 202, progress: '50% complete', retryAfter: '1' }],
      slow: { names: ['obs.ndjson'], chunkBytes: 8192, delayMs: 150 },
    });
    const out = join(tempDir(t), 'out');
    // Waits of a whole second (the Retry-After), so the waiting phase is on screen for a while.
    const run = await onTerminal(['export', server.baseUrl, '--out', out, '--max-wait', '1']);
    assert.equal(run.code, 0, run.stdout);
    const text = run.stdout;
    // Redrawn in place: the cursor moves up over the two status lines.
    assert.ok(text.includes('\u001b[1A'), 'no cursor-up sequence');
    assert.match(text, /waiting: server 50% complete \(next poll in [\d.]+ s\) \|/);
    assert.match(text, /downloading \|[^|]+\| +\d+%/);
    assert.match(text, /\d\d:\d\d \| \d\/2 files \| [\d,]+\/420 res \| [\d.]+ MB \| [\d,]+ res\/s \| ETA /);
    assert.match(text, /export complete: 2 files, 420 resources, /);
    assert.match(text, / {2}resources by type: Patient 20, Observation 400/);

    // --cancel prints its line and exits: no live display is left running.
    const cancel = await onTerminal(['export', '--cancel', out]);
    assert.equal(cancel.code, 0, cancel.stdout);
    assert.match(cancel.stdout, /^deleted the job at http:\/\/127\.0\.0\.1:\d+\/fhir\/status\/job-1\r?$/m);
  });
});
