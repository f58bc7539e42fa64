import { createServer } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { loadServeConfig } from '../../src/cli/config.js';
import { createRuntime } from '../../src/cli/runtime.js';
import type { Runtime } from '../../src/cli/runtime.js';
import type { ExportConfig } from '../../src/export/index.js';
import type { AuthConfig } from '../../src/auth/index.js';
import type { Backend, TestDatabase } from './stores.js';
import { tempDir } from './temp.js';

/** A free loopback port (the tiny race with another process is acceptable in tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** A running fhirhose on loopback. */
export interface TestServer {
  baseUrl: string;
  runtime: Runtime;
  dir: string;
}

/** Options of {@link startTestServer}. */
export interface TestServerOptions {
  /**
   * The store: SQLite on a temp file by default; a PostgreSQL backend gets a schema of its own, dropped
   * when the server closes.
   */
  backend?: Backend;
  /**
   * A database the caller made (and drops once every server on it has closed), so several servers can
   * share one, as the processes of a deployment do; takes precedence over `backend`.
   */
  db?: string;
  export?: Partial<ExportConfig>;
  /** Authorization: off by default; `true` for the defaults, or settings (enabled unless they say not). */
  auth?: boolean | Partial<AuthConfig>;
  /** Serve HTTPS with these PEM files. */
  tls?: { certPath: string; keyPath: string };
  /** Clock of the authorization layer. */
  now?: () => number;
  /** Clock of the export service (expiry, reaping, URL signing). */
  exportNow?: () => number;
  /** Environment for `loadServeConfig` (S3 endpoint and credentials); empty by default. */
  env?: Record<string, string>;
  /** `--storage`: s3://bucket/prefix instead of the temp export folder. */
  storage?: string;
  /** `--download-mode`: server (default) or presigned. */
  downloadMode?: 'server' | 'presigned';
  /** The server's root logger; default pino at FHIRHOSE_TEST_LOG (silent). */
  log?: Logger;
  /** Status polls the server holds at once (`Prefer: wait`). */
  maxHeldPolls?: number;
  /** `--host` as the config sees it (such as 0.0.0.0); the test server still listens on loopback. */
  host?: string;
}

function authOptions(auth: TestServerOptions['auth']): Partial<AuthConfig> {
  if (auth === undefined || auth === false) return { enabled: false };
  return auth === true ? { enabled: true } : { enabled: true, ...auth };
}

/** Start a real server on a temp database; it is closed when the test (or suite) ends. */
export async function startTestServer(
  t: { after: (fn: () => Promise<void> | void) => void },
  options: TestServerOptions = {},
): Promise<TestServer> {
  // Registered before the temp dir's cleanup, so the server and its worker threads stop first, and
  // one hook, so the schema is dropped only once nothing uses it.
  const started: { runtime?: Runtime; database?: TestDatabase } = {};
  t.after(async () => {
    await started.runtime?.close();
    await started.database?.drop();
  });
  const dir = tempDir(t);
  const port = await freePort();
  if (options.backend && options.db === undefined) started.database = await options.backend.create();
  const base = loadServeConfig(
    { ...options.env },
    {
      db: options.db ?? started.database?.db ?? join(dir, 'store.db'),
      port,
      ...(options.host ? { host: options.host } : {}),
      exportDir: join(dir, 'exports'),
      ...(options.storage ? { storage: options.storage } : {}),
      ...(options.downloadMode ? { downloadMode: options.downloadMode } : {}),
      ...(options.tls ? { tlsCert: options.tls.certPath, tlsKey: options.tls.keyPath } : {}),
    },
  );
  const config = {
    ...base,
    // Off unless asked for, so tests that are not about authorization send no tokens.
    auth: { ...base.auth, ...authOptions(options.auth) },
    export: {
      ...base.export,
      workers: 1,
      retryAfterSeconds: 1,
      heartbeatMs: 200,
      idlePollMs: 100,
      ...options.export,
    },
  };
  const log = options.log ?? pino({ level: process.env.FHIRHOSE_TEST_LOG ?? 'silent' });
  const runtime = await createRuntime(config, log, {
    ...(options.now ? { now: options.now } : {}),
    ...(options.exportNow ? { exportNow: options.exportNow } : {}),
    ...(options.maxHeldPolls !== undefined ? { maxHeldPolls: options.maxHeldPolls } : {}),
  });
  started.runtime = runtime;
  await runtime.app.listen({ host: '127.0.0.1', port });
  return { baseUrl: config.baseUrl, runtime, dir };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll a status URL at the advertised pace until it completes; bounded tries. */
export async function waitForExport(
  statusUrl: string,
  headers: Record<string, string> = {},
  tries = 200,
): Promise<Response> {
  for (let i = 0; i < tries; i++) {
    const res = await fetch(statusUrl, { headers });
    if (res.status !== 202 && res.headers.get('x-export-status') !== '202 Accepted') return res;
    await res.arrayBuffer();
    await sleep(300);
  }
  throw new Error(`export at ${statusUrl} did not finish after ${tries} polls`);
}

/** Kick off an export by GET and return the status URL. */
export async function kickoff(url: string, init: RequestInit = {}): Promise<string> {
  const res = await fetch(url, {
    ...init,
    headers: { prefer: 'respond-async', accept: 'application/fhir+json', ...init.headers },
  });
  if (res.status !== 202) throw new Error(`kick-off ${url} answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
  return res.headers.get('content-location') as string;
}

/** The manifest of a finished export. */
export interface TestManifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count?: number }[];
  deleted?: { type: string; url: string }[];
  error: { type: string; url: string }[];
}

/** Run an export to completion and return its manifest. */
export async function runExport(url: string, init: RequestInit = {}): Promise<TestManifest> {
  const status = await kickoff(url, init);
  const res = await waitForExport(status);
  if (res.status !== 200) throw new Error(`export failed with ${res.status}: ${await res.text()}`);
  return (await res.json()) as TestManifest;
}

/** Download and parse every line of the files of one manifest section. */
export async function readLines(entries: { url: string }[]): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const e of entries) {
    const text = await (await fetch(e.url)).text();
    for (const line of text.split('\n'))
      if (line !== '') out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

/** Collects cleanups registered during `before`, to run them in one describe-level `after`. */
export function suiteScope(register: (fn: () => Promise<void>) => void): {
  after: (fn: () => Promise<void> | void) => void;
} {
  const cleanups: (() => Promise<void> | void)[] = [];
  register(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  return { after: (fn) => cleanups.push(fn) };
}
