import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { RSS_PROBE_MARK } from './probe-mark.js';

/** The `fhirhose` entry point: `dist/src/bench/` is three levels below the package root. */
export const CLI_PATH = fileURLToPath(new URL('../../../bin/fhirhose.js', import.meta.url));
const PROBE_URL = new URL('./rss-probe.js', import.meta.url).href;

/** A finished `fhirhose` child process. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  seconds: number;
  /** Peak RSS reported by the exit probe, in MiB. */
  peakRssMb?: number;
}

/** Environment of a child: the parent's, plus overrides. */
export type ChildEnv = Record<string, string | undefined>;

/** Start `node [--import probe] bin/fhirhose.js ...args`. */
export function spawnCli(
  args: readonly string[],
  env: ChildEnv,
  extraNodeArgs: readonly string[] = [],
): ChildProcess {
  return spawn(process.execPath, ['--import', PROBE_URL, ...extraNodeArgs, CLI_PATH, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collect a stream's text as it arrives. */
export function collect(stream: NodeJS.ReadableStream | null): { text: () => string } {
  const chunks: string[] = [];
  stream?.setEncoding('utf8');
  stream?.on('data', (c: string) => chunks.push(c));
  return { text: () => chunks.join('') };
}

/** Run `fhirhose ...args` to completion, measuring its wall time and peak RSS. */
export async function runCli(args: readonly string[], env: ChildEnv): Promise<CliResult> {
  const started = performance.now();
  const child = spawnCli(args, env);
  const out = collect(child.stdout);
  const err = collect(child.stderr);
  const [code] = (await once(child, 'close')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  const peak = probedPeakRssMb(err.text());
  return {
    code,
    stdout: out.text(),
    stderr: err.text(),
    seconds,
    ...(peak === undefined ? {} : { peakRssMb: peak }),
  };
}

/** The peak RSS the exit probe wrote into a child's stderr, in MiB. */
export function probedPeakRssMb(stderr: string): number | undefined {
  const m = new RegExp(`${RSS_PROBE_MARK} (\\d+)`).exec(stderr);
  return m ? Number(m[1]) / 1024 : undefined;
}

/** A live process's peak RSS so far (VmHWM in /proc/<pid>/status), in MiB; undefined once it is gone. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    // The process has exited: there is no peak to read any more.
    return undefined;
  }
}

/** A live process's CPU time so far (user and system, /proc/<pid>/stat), in seconds; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Clock ticks: 100 per second on Linux, whatever the kernel's HZ (USER_HZ).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    // The process has exited: its time can no longer be read.
    return undefined;
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new TypeError('no TCP address');
  return address.port;
}

/** Ask a child to stop (SIGTERM), and kill it when it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
