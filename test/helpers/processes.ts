// Real `fhirhose` processes for the crash and scale-out tests, and the export checks they share.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { generateResources, patientsForResources } from '../../src/generate/index.js';
import type { FhirResource } from '../../src/fhir/index.js';
import type { ResourceStore } from '../../src/store/index.js';

const BIN = new URL('../../../bin/fhirhose.js', import.meta.url).pathname;

/** Wait `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Load generated resources (about `resources` of them, seeded) into `store`; returns how many. */
export async function populate(store: ResourceStore, resources: number, seed: number): Promise<number> {
  let batch: FhirResource[] = [];
  let total = 0;
  for (const r of generateResources({ patients: patientsForResources(resources), seed })) {
    batch.push(r);
    if (batch.length === 10_000) {
      total += batch.length;
      await store.ingest(batch);
      batch = [];
    }
  }
  total += batch.length;
  await store.ingest(batch);
  return total;
}

/**
 * Start `fhirhose <args>` as a child process with auth off, short leases and small units, so a killed
 * process's unit is redone within seconds. Its stdout shows with FHIRHOSE_TEST_LOG set.
 */
export function startFhirhose(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    env: {
      ...process.env,
      FHIRHOSE_AUTH: 'off',
      FHIRHOSE_LEASE_SECONDS: '2',
      FHIRHOSE_ROWS_PER_UNIT: '40000',
      FHIRHOSE_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', process.env.FHIRHOSE_TEST_LOG ? 'inherit' : 'ignore', 'inherit'],
  });
}

/** `startFhirhose`, SIGKILLed when the test ends. */
export function fhirhoseForTest(
  t: { after: (fn: () => Promise<void>) => void },
  args: string[],
  env: Record<string, string> = {},
): ChildProcess {
  const child = startFhirhose(args, env);
  t.after(() => killHard(child));
  return child;
}

/** SIGKILL a child and wait until it has exited. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Wait until a server answers /metadata; bounded tries. */
export async function waitUp(baseUrl: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      const res = await request(`${baseUrl}/metadata`);
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`server at ${baseUrl} did not start`);
}

/** Kick off a system-level export; returns the status URL. */
export async function kickoffSystem(baseUrl: string): Promise<string> {
  const res = await request(`${baseUrl}/$export`, { headers: { prefer: 'respond-async' } });
  const body = await res.body.text();
  assert.equal(res.statusCode, 202, body);
  return res.headers['content-location'] as string;
}

/** One status poll: HTTP status, the X-Progress header, and the body. */
export async function poll(url: string): Promise<{ status: number; progress: string; body: string }> {
  const res = await request(url);
  return {
    status: res.statusCode,
    progress: String(res.headers['x-progress'] ?? ''),
    body: await res.body.text(),
  };
}

/** A manifest as these tests read it. */
export interface ProcessManifest {
  output: { url: string; type: string; count: number }[];
  error: { url: string }[];
}

/** Poll a status URL (at the advised pace) until complete; fails on an error file. */
export async function finish(url: string): Promise<ProcessManifest> {
  for (let i = 0; i < 600; i++) {
    const r = await poll(url);
    if (r.status === 200) {
      const manifest = JSON.parse(r.body) as ProcessManifest;
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
export async function exportedKeys(manifest: ProcessManifest): Promise<Set<string>> {
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
