import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { warmUp } from './http.js';
import { collect, freePort, peakRssMb, spawnCli, stopChild } from './processes.js';
import type { ChildEnv } from './processes.js';

/** Settings of a server child process. */
export interface ServerOptions {
  db: string;
  exportDir: string;
  /** The bench's environment, passed on with the overrides below. */
  env: ChildEnv;
  /** Extra FHIRHOSE_* settings for this server. */
  settings?: Record<string, string>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: readonly string[];
  cwd?: string;
  /** Require SMART Backend Services tokens; off by default, so anonymous requests are one client. */
  auth?: boolean;
}

/** A `fhirhose serve` child process on loopback, without authorization unless asked for. */
export interface BenchServer {
  baseUrl: string;
  pid: number;
  exportDir: string;
  /** Peak RSS of the server process so far, in MiB. */
  peakRssMb(): number;
  /** Stop the server (SIGTERM) and remove its export folder. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

/** Settings every bench server runs with; see docs/benchmarks.md. */
export const SERVER_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  FHIRHOSE_AUTH: 'off',
  FHIRHOSE_LOG_LEVEL: 'warn',
  // A 1 s Retry-After lets the bench poll every 300 ms (faster than a quarter of it gets 429).
  FHIRHOSE_RETRY_AFTER_SECONDS: '1',
  FHIRHOSE_MAX_QUEUED_JOBS: '50',
});

/**
 * Start `fhirhose serve` as a child process, wait until it listens, and send it one warm-up request.
 * @throws Error when the server exits or does not listen within a minute
 */
export async function startServer(options: ServerOptions): Promise<BenchServer> {
  const port = await freePort();
  const env: ChildEnv = {
    ...options.env,
    ...SERVER_SETTINGS,
    ...(options.auth ? { FHIRHOSE_AUTH: 'on' } : {}),
    ...options.settings,
  };
  const args = [
    'serve',
    '--db',
    options.db,
    '--port',
    String(port),
    '--export-dir',
    options.exportDir,
    options.auth ? '--auth' : '--no-auth',
  ];
  const child = spawnCli(args, env, options.nodeArgs);
  const stderr = collect(child.stderr);
  await waitForListening(child, () => stderr.text());
  const pid = child.pid!;
  const baseUrl = `http://127.0.0.1:${port}`;
  await warmUp(baseUrl);
  let peak = 0;
  return {
    baseUrl,
    pid,
    exportDir: options.exportDir,
    peakRssMb: () => (peak = Math.max(peak, peakRssMb(pid) ?? 0)),
    stop: async () => {
      peak = Math.max(peak, peakRssMb(pid) ?? 0);
      await stopChild(child);
      await rm(options.exportDir, { recursive: true, force: true });
    },
  };
}

async function waitForListening(child: ChildProcess, stderr: () => string): Promise<void> {
  let stdout = '';
  child.stdout?.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err === undefined) return resolve();
      child.kill('SIGKILL');
      reject(err);
    };
    const onData = (chunk: string): void => {
      stdout += chunk;
      if (stdout.includes('listening on')) done();
    };
    const onExit = (code: number | null): void =>
      done(new Error(`the server exited (${code}): ${stderr().slice(-2000)}`));
    const timer = setTimeout(
      () => done(new Error('the server did not listen within a minute')),
      START_TIMEOUT_MS,
    );
    child.stdout?.on('data', onData);
    // With JSON logs (no terminal) the server says it listens on stderr.
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout?.resume();
}
