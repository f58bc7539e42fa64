import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ConfigError } from '../../src/cli/config-error.js';
import { createServerLog, logFormat } from '../../src/cli/logger.js';
import { buildServer } from '../../src/server/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { populate, waitUp } from '../helpers/processes.js';
import { freePort } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';

const BIN = new URL('../../../bin/fhirhose.js', import.meta.url).pathname;

/** A destination that keeps every line written to it. */
function capture(): { stream: Writable & { write: (s: string) => boolean }; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, lines: () => text.split('\n').filter((l) => l !== '') };
}

/** Run `fhirhose <args>` to its end; its exit code and output. */
function runCli(args: string[], env: Record<string, string> = {}, cwd?: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      ...(cwd ? { cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the log format setting', () => {
  test('defaults to pretty on a terminal and JSON elsewhere; anything else is a usage error', () => {
    assert.equal(logFormat(undefined, true), 'pretty');
    assert.equal(logFormat(undefined, false), 'json');
    assert.equal(logFormat('', false), 'json');
    assert.equal(logFormat('json', true), 'json');
    assert.equal(logFormat('pretty', false), 'pretty');
    assert.throws(
      () => logFormat('xml', true),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /--log-format .*pretty or json.*'xml'/);
        return true;
      },
    );
  });
});

describe('the server log', () => {
  test('pretty: one readable line per event, worker-thread JSON lines included', () => {
    const out = capture();
    const { log, writeLine } = createServerLog('info', 'pretty', out.stream);
    log.info({ jobId: 'j1', resources: 3 }, 'export completed');
    writeLine(
      `${JSON.stringify({ level: 30, time: Date.now(), thread: 'export-worker', msg: 'unit done' })}\n`,
    );
    log.debug('not shown at info');
    const lines = out.lines();
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: export completed .*"jobId":"j1"/);
    assert.doesNotMatch(lines[0]!, /"pid"|"hostname"/);
    assert.match(lines[1]!, /INFO: unit done .*"thread":"export-worker"/);
  });

  test('json: one JSON object per line', () => {
    const out = capture();
    const { log } = createServerLog('info', 'json', out.stream);
    log.info({ jobId: 'j2' }, 'export accepted');
    const [line] = out.lines();
    const parsed = JSON.parse(line!) as { msg: string; jobId: string; level: number };
    assert.deepEqual([parsed.msg, parsed.jobId, parsed.level], ['export accepted', 'j2', 30]);
  });

  test('a request is one line at debug, none at info, and secrets in the query are redacted', async (t) => {
    const dir = tempDir(t);
    const store = openSqliteStore(join(dir, 'r.db'));
    t.after(() => store.close());
    for (const level of ['debug', 'info'] as const) {
      const out = capture();
      const app = buildServer({
        store,
        baseUrl: 'http://127.0.0.1',
        logger: pino({ level }, out.stream),
      });
      await app.inject({ method: 'GET', url: '/metadata?access_token=s3cret' });
      await app.close();
      const requests = out.lines().filter((l) => (JSON.parse(l) as { msg: string }).msg === 'request');
      if (level === 'info') {
        assert.deepEqual(out.lines(), []);
        continue;
      }
      assert.equal(requests.length, 1, out.lines().join('\n'));
      const r = JSON.parse(requests[0]!) as { method: string; url: string; status: number; level: number };
      assert.equal(r.level, 20);
      assert.equal(r.method, 'GET');
      assert.equal(r.status, 200);
      assert.equal(r.url, '/metadata?access_token=[redacted]');
      assert.doesNotMatch(out.lines().join('\n'), /s3cret/);
    }
  });
});

describe('fhirhose serve', () => {
  let holder: Server | undefined;
  after(() => holder?.close());

  test('a port in use ends at once with exit code 2 and a message naming --port; a missing db folder is made', async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    holder = createServer();
    await new Promise<void>((resolve) => holder!.listen(port, '127.0.0.1', resolve));
    // A SQLite file in a folder that does not exist yet: serve makes the folder (then finds the port taken).
    const db = join(dir, 'missing', 'sub', 'p.db');
    const res = await runCli(['serve', '--db', db, '--no-auth', '--port', String(port)]);
    assert.equal(res.code, 2, res.stderr);
    assert.ok(existsSync(join(dir, 'missing', 'sub')));
    assert.match(res.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*--port`));
  });

  test('logs each job event at info as JSON lines, with the rate at completion; requests stay at debug', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'log.db');
    const store = openSqliteStore(db);
    await populate(store, 2000, 7);
    await store.close();
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--db', db, '--no-auth', '--port', String(port), '--log-format', 'json'],
      { env: { ...process.env, FHIRHOSE_LOG_LEVEL: 'info' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    t.after(() => child.kill('SIGKILL'));
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitUp(baseUrl);
    const kick = await fetch(`${baseUrl}/$export?_type=Patient,Condition`, {
      headers: { prefer: 'respond-async' },
    });
    assert.equal(kick.status, 202);
    const status = kick.headers.get('content-location')!;
    for (let i = 0; i < 300; i++) {
      const res = await fetch(status);
      await res.arrayBuffer();
      if (res.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The completion line is written right after the unit finishes; give the pipe a moment.
    for (let i = 0; i < 50 && !stdout.includes('export completed'); i++)
      await new Promise((r) => setTimeout(r, 100));
    const events = stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const msgs = events.map((e) => e.msg);
    for (const m of [
      'fhirhose listening',
      'export accepted',
      'export planned',
      'unit done',
      'export completed',
    ])
      assert.ok(msgs.includes(m), `${m} missing from ${JSON.stringify(msgs)}`);
    assert.ok(!msgs.includes('request'), 'requests are logged at debug only');
    const accepted = events.find((e) => e.msg === 'export accepted')!;
    assert.equal(accepted.exportLevel, 'system');
    const completed = events.find((e) => e.msg === 'export completed')!;
    assert.ok((completed.resources as number) > 0);
    assert.equal(typeof completed.resourcesPerSecond, 'number');
    assert.equal(completed.failedUnits, 0);
    // In JSON mode stdout is JSON only; the banner for a person is on stderr.
    assert.match(stderr, /fhirhose listening on http:\/\/127\.0\.0\.1/);
  });
});
