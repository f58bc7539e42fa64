import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { awaitManifest, deleteJob, kickoff } from './http.js';
import type { KickoffRequest, Manifest } from './http.js';
import { cpuSeconds } from './processes.js';
import type { BenchServer } from './server.js';

/** Status polls every 300 ms: more than a quarter of the bench servers' 1 s Retry-After. */
export const POLL_INTERVAL_MS = 300;

/** One export, from kick-off to complete manifest. */
export interface ExportRun {
  statusUrl: string;
  manifest: Manifest;
  /** Kick-off sent to manifest received. */
  seconds: number;
  /** Resources in `output` (the manifest counts). */
  resources: number;
  files: number;
  /** Bytes of the output files on the server's disk. */
  bytes: number;
  kickoffMs: number;
  pollLatenciesMs: number[];
  throttledPolls: number;
  /** Peak server RSS when the manifest arrived, in MiB. */
  peakRssMb: number;
  /** Server CPU time (every thread, user and system) from kick-off to manifest, in seconds. */
  cpuSeconds: number;
}

/** Options of {@link runExport}. */
export interface ExportRunOptions {
  timeoutMs: number;
  /** Called once the kick-off is accepted (to start probes). */
  onAccepted?: () => void;
}

/**
 * Kick off an export and poll it to its manifest, measuring time, output size and server memory.
 * @throws Error when the kick-off is refused, the job fails, or it does not finish in time
 */
export async function runExport(
  server: BenchServer,
  req: KickoffRequest,
  options: ExportRunOptions,
): Promise<ExportRun> {
  const cpuBefore = cpuSeconds(server.pid) ?? 0;
  const started = await kickoff(server.baseUrl, req);
  options.onAccepted?.();
  const pollLatenciesMs: number[] = [];
  const done = await cancelOnFailure(started.statusUrl, () =>
    awaitManifest(started.statusUrl, {
      intervalMs: POLL_INTERVAL_MS,
      latenciesMs: pollLatenciesMs,
      timeoutMs: options.timeoutMs,
    }),
  );
  const peakRssMb = server.peakRssMb();
  const cpu = (cpuSeconds(server.pid) ?? cpuBefore) - cpuBefore;
  const { manifest } = done;
  if (manifest.error.length > 0) {
    await deleteJob(started.statusUrl);
    throw new Error(`export ${started.statusUrl} reported ${manifest.error.length} error files`);
  }
  return {
    statusUrl: started.statusUrl,
    manifest,
    seconds: (done.completedAt - started.startedAt) / 1000,
    resources: manifest.output.reduce((n, f) => n + (f.count ?? 0), 0),
    files: manifest.output.length,
    bytes: await outputBytes(server.exportDir, started.statusUrl, manifest),
    kickoffMs: started.latencyMs,
    pollLatenciesMs,
    throttledPolls: done.throttled,
    peakRssMb,
    cpuSeconds: cpu,
  };
}

/**
 * Run `fn`; when it fails, cancel the job before passing the error on. Jobs are durable: one left
 * running would be resumed by the next server on the same store and skew every later figure.
 */
export async function cancelOnFailure<T>(statusUrl: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    try {
      await deleteJob(statusUrl);
    } catch (cancelErr) {
      const why = cancelErr instanceof Error ? cancelErr.message : String(cancelErr);
      throw new Error(
        `${err instanceof Error ? err.message : String(err)}; cancelling it failed too: ${why}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

/** Sizes of the output files in the server's export folder (`<exportDir>/<jobId>/<name>`). */
async function outputBytes(exportDir: string, statusUrl: string, manifest: Manifest): Promise<number> {
  const jobId = lastSegment(statusUrl);
  let bytes = 0;
  for (const file of manifest.output)
    bytes += (await stat(join(exportDir, jobId, lastSegment(file.url)))).size;
  return bytes;
}

function lastSegment(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/').at(-1) ?? '');
}

/** DELETE the job of a run, so its files do not fill the disk. */
export async function releaseRun(run: ExportRun): Promise<void> {
  await deleteJob(run.statusUrl);
}

/**
 * Time limit for an export that writes about `resources` resources: 2,000 resources/s (1% of the
 * bar), at least two minutes, so a busy machine passes but a pathological export does not eat the run.
 */
export function exportTimeoutMs(resources: number): number {
  return Math.max(120_000, (resources / 2_000) * 1000);
}
