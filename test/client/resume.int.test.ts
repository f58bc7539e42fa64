import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/temp.js';
import { startFaultServer } from './fault-server.js';
import type { FaultFile, FaultScript } from './fault-server.js';
import { FAST_WAITS, ndjson } from './helpers.js';
import { BulkDataClient } from '../../src/client/index.js';
import type { ExportState } from '../../src/client/index.js';

const BIN = fileURLToPath(new URL('../../../bin/fhirhose.js', import.meta.url));
const FAST = ['--max-wait', '0.05', '--poll-interval', '0.01', '--json'];

function cli(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

async function until(what: string, check: () => boolean, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Run `fhirhose export` and SIGKILL it once Patient is finished and more than 16 KiB of Observation
 * is on disk.
 */
async function killMidExport(
  t: { after: (fn: () => void) => void },
  baseUrl: string,
  what: string,
): Promise<{ out: string; part: string; killed: { code: number | null; stdout: string; stderr: string } }> {
  const out = join(tempDir(t), 'out');
  const first = cli(['export', baseUrl, '--out', out, '--parallel', '2', ...FAST]);
  const part = join(out, 'output', 'Observation.1.ndjson.part');
  await until(what, () => {
    return (
      existsSync(join(out, 'output', 'Patient.1.ndjson')) && existsSync(part) && statSync(part).size > 16_384
    );
  });
  first.child.kill('SIGKILL');
  return { out, part, killed: await first.done };
}

const FILES: FaultFile[] = [
  { name: 'pat.ndjson', type: 'Patient', body: ndjson('Patient', 20), count: true },
  { name: 'obs.ndjson', type: 'Observation', body: ndjson('Observation', 3000), count: true },
  { name: 'enc.ndjson', type: 'Encounter', body: ndjson('Encounter', 100), count: true },
];

describe('fhirhose export --resume after SIGKILL', () => {
  test('continues without a second kick-off, skips finished files and resumes the partial one with Range', async (t) => {
    const script: FaultScript = {
      files: FILES,
      status: [{ status: 202 }],
      slow: { names: ['obs.ndjson', 'enc.ndjson'], chunkBytes: 8192, delayMs: 40 },
    };
    const server = await startFaultServer(t, script);
    const { out, part, killed } = await killMidExport(
      t,
      server.baseUrl,
      'one finished file and a partial one',
    );
    assert.equal(killed.code, null);
    const partBytes = statSync(part).size;
    assert.ok(partBytes < Buffer.byteLength(FILES[1]!.body));

    script.slow = undefined;
    const second = await cli(['export', '--resume', out, ...FAST]).done;
    assert.equal(second.code, 0, second.stderr + second.stdout);

    const requests = (name: string) => server.seen.filter((s) => s.url === `/files/${name}`);
    assert.equal(server.seen.filter((s) => s.url.startsWith('/fhir/$export')).length, 1, 'one kick-off');
    assert.equal(requests('pat.ndjson').length, 1, 'the finished file is not fetched again');
    const obs = requests('obs.ndjson');
    assert.equal(obs.length, 2);
    const from = Number(/^bytes=(\d+)-$/.exec(obs[1]?.headers.range ?? '')?.[1]);
    assert.ok(from > 0 && from <= partBytes, `resumed from ${from} with ${partBytes} bytes on disk`);

    // An undisturbed run gives the same bytes.
    const clean = join(tempDir(t), 'clean');
    const client = new BulkDataClient(server.baseUrl, { waits: FAST_WAITS });
    const undisturbed = await client
      .export({ level: 'system', params: {} }, { outDir: clean })
      .finally(() => client.close());
    assert.equal(undisturbed.ok, true);
    for (const path of [
      'output/Patient.1.ndjson',
      'output/Observation.1.ndjson',
      'output/Encounter.1.ndjson',
    ]) {
      assert.deepEqual(readFileSync(join(out, path)), readFileSync(join(clean, path)), path);
    }
    assert.equal(readFileSync(join(out, 'output/Observation.1.ndjson'), 'utf8'), FILES[1]!.body);
    const summary = JSON.parse(second.stdout.trim().split('\n').at(-1) as string) as {
      event: string;
      ok: boolean;
      resources: number;
    };
    assert.equal(summary.event, 'summary');
    assert.equal(summary.ok, true);
    assert.equal(summary.resources, 3120);
  });

  test('picks up the file URLs a refresh recorded before the kill, without fetching the manifest again', async (t) => {
    const files: FaultFile[] = [
      { name: 'pat.ndjson', type: 'Patient', body: ndjson('Patient', 20), count: true },
      { name: 'obs.ndjson', type: 'Observation', body: ndjson('Observation', 3000), count: true },
    ];
    const script: FaultScript = {
      files,
      // One request per signature: the truncated Patient download uses it up, so its Range resume
      // is refused and the run re-fetches the manifest, while Observation streams on its first URL.
      signed: { uses: 1 },
      fileFaults: { 'pat.ndjson': ['truncate'] },
      slow: { names: ['obs.ndjson'], chunkBytes: 8192, delayMs: 40 },
    };
    const server = await startFaultServer(t, script);
    const { out, killed } = await killMidExport(
      t,
      server.baseUrl,
      'a refreshed Patient file and a partial Observation file',
    );
    assert.match(killed.stdout, /"event":"manifest-refresh"/, 'the CLI reports the refresh');
    const before = JSON.parse(readFileSync(join(out, 'fhirhose-export.json'), 'utf8')) as ExportState;
    assert.ok(
      before.files.every((f) => /\?sig=2&/.test(f.url)),
      'the refreshed URLs are on disk',
    );

    script.slow = undefined;
    const seenBefore = server.seen.length;
    const second = await cli(['export', '--resume', out, ...FAST]).done;
    assert.equal(second.code, 0, second.stderr + second.stdout);
    const resumed = server.seen.slice(seenBefore);
    assert.equal(resumed.filter((s) => s.url.startsWith('/fhir/')).length, 0, 'no kick-off, no status GET');
    const obs = resumed.filter((s) => s.url.startsWith('/files/obs.ndjson?'));
    assert.equal(obs.length, 1);
    assert.match(obs[0]?.url ?? '', /\?sig=2&/);
    assert.match(obs[0]?.headers.range ?? '', /^bytes=[1-9]\d*-$/);
    assert.equal(readFileSync(join(out, 'output/Observation.1.ndjson'), 'utf8'), files[1]!.body);
    assert.doesNotMatch(second.stdout, /manifest-refresh/);
  });

  test('exits non-zero when a file fails verification, and --cancel sends DELETE', async (t) => {
    const server = await startFaultServer(t, {
      files: [{ name: 'bad.ndjson', type: 'Patient', body: '{"resourceType":"Patient"}\nnot json\n' }],
    });
    const out = join(tempDir(t), 'out');
    const run = await cli(['export', server.baseUrl, '--out', out, ...FAST]).done;
    assert.equal(run.code, 1);
    assert.match(run.stdout, /FHIRHOSE_ERR_CLIENT_VERIFY/);
    const cancel = await cli(['export', '--cancel', out, ...FAST]).done;
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(server.seen.at(-1)?.method, 'DELETE');
  });
});
