import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { generateResources, patientsForResources } from '../../src/generate/index.js';
import type { FhirResource } from '../../src/fhir/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { freePort } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';

// The issue asks for at least 1M resources; FHIRHOSE_CRASH_RESOURCES makes a quicker local run possible.
const RESOURCES = Number(process.env.FHIRHOSE_CRASH_RESOURCES ?? 1_000_000);
const BIN = new URL('../../../bin/fhirhose.js', import.meta.url).pathname;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function populate(dbPath: string): Promise<number> {
  const store = openSqliteStore(dbPath);
  let batch: FhirResource[] = [];
  let total = 0;
  for (const r of generateResources({ patients: patientsForResources(RESOURCES), seed: 11 })) {
    batch.push(r);
    if (batch.length === 10_000) {
      total += batch.length;
      await store.ingest(batch);
      batch = [];
    }
  }
  total += batch.length;
  await store.ingest(batch);
  await store.close();
  return total;
}

function startServer(args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, 'serve', ...args], {
    env: {
      ...process.env,
      FHIRHOSE_AUTH: 'off',
      FHIRHOSE_LEASE_SECONDS: '2',
      FHIRHOSE_ROWS_PER_UNIT: '40000',
      FHIRHOSE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', process.env.FHIRHOSE_TEST_LOG ? 'inherit' : 'ignore', 'inherit'],
  });
}

async function waitUp(baseUrl: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await request(`${baseUrl}/metadata`);
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error('server did not start');
}

async function kickoff(baseUrl: string): Promise<string> {
  const res = await request(`${baseUrl}/$export`, { headers: { prefer: 'respond-async' } });
  await res.body.dump();
  assert.equal(res.statusCode, 202);
  return res.headers['content-location'] as string;
}

async function poll(url: string): Promise<{ status: number; progress: string; body: string }> {
  const res = await request(url);
  return {
    status: res.statusCode,
    progress: String(res.headers['x-progress'] ?? ''),
    body: await res.body.text(),
  };
}

async function finish(url: string): Promise<{ output: { url: string; type: string }[] }> {
  for (let i = 0; i < 600; i++) {
    const r = await poll(url);
    if (r.status === 200) {
      const manifest = JSON.parse(r.body) as {
        output: { url: string; type: string }[];
        error: { url: string }[];
      };
      const errors = await Promise.all(manifest.error.map(async (e) => (await request(e.url)).body.text()));
      assert.deepEqual(errors, []);
      return manifest;
    }
    assert.ok(r.status === 202 || r.status === 429, `status ${r.status}: ${r.body}`);
    await sleep(1100);
  }
  throw new Error('export did not finish');
}

/** Every Type/id of an export, streamed line by line; fails on a duplicate. */
async function exportedKeys(manifest: { output: { url: string; type: string }[] }): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const entry of manifest.output) {
    const res = await request(entry.url);
    for await (const line of createInterface({ input: res.body, crlfDelay: Infinity })) {
      if (line === '') continue;
      const m = /"resourceType":"([A-Za-z]+)","id":"([^"]+)"/.exec(line) ?? /"id":"([^"]+)"/.exec(line);
      const id = m?.length === 3 ? m[2] : (JSON.parse(line) as { id: string }).id;
      const key = `${entry.type}/${id}`;
      assert.ok(!keys.has(key), `${key} twice`);
      keys.add(key);
    }
  }
  return keys;
}

test(
  'a server killed with SIGKILL mid-export resumes and yields exactly the undisturbed output',
  { timeout: 15 * 60_000 },
  async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'crash.db');
    const total = await populate(db);
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const args = ['--db', db, '--port', String(port), '--export-dir', join(dir, 'exports')];
    let server = startServer(args);
    t.after(() => void server.kill('SIGKILL'));
    await waitUp(baseUrl);

    const status = await kickoff(baseUrl);
    let killedAt = '';
    for (let i = 0; i < 400 && !killedAt; i++) {
      await sleep(600);
      const r = await poll(status);
      assert.notEqual(r.status, 200, 'export finished before the crash could be injected');
      const percent = Number.parseInt(r.progress, 10);
      if (r.status === 202 && percent >= 10) killedAt = r.progress;
    }
    server.kill('SIGKILL');
    await new Promise((resolve) => server.once('exit', resolve));
    assert.ok(killedAt, 'never saw the export in progress');

    server = startServer(args);
    await waitUp(baseUrl);
    const resumed = await exportedKeys(await finish(status));
    const undisturbed = await exportedKeys(await finish(await kickoff(baseUrl)));
    assert.equal(resumed.size, total, `killed at ${killedAt}`);
    assert.equal(undisturbed.size, total);
    for (const key of undisturbed) assert.ok(resumed.has(key), `${key} missing after the crash`);
  },
);
