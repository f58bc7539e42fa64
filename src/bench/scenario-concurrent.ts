import type { BenchContext } from './context.js';
import { eachRun } from './context.js';
import { POLL_INTERVAL_MS, exportTimeoutMs } from './export-run.js';
import { BARS, figure } from './figures.js';
import { awaitManifest, deleteJob, kickoff } from './http.js';
import type { BenchServer } from './server.js';

/** Exports started at once. */
export const CONCURRENT_EXPORTS = 10;

interface ConcurrentRun {
  completed: number;
  resources: number;
  seconds: number;
  peakRssMb: number;
  slowestKickoffMs: number;
  failures: string[];
}

async function runConcurrent(server: BenchServer, timeoutMs: number): Promise<ConcurrentRun> {
  const started = performance.now();
  const kicks = await Promise.all(
    Array.from({ length: CONCURRENT_EXPORTS }, () => kickoff(server.baseUrl, { path: '/$export' })),
  );
  const poll = { intervalMs: POLL_INTERVAL_MS, timeoutMs };
  const settled = await Promise.allSettled(
    kicks.map((k) => awaitManifest(k.statusUrl, { ...poll, latenciesMs: [] })),
  );
  const seconds = (performance.now() - started) / 1000;
  const peakRssMb = server.peakRssMb();
  const run: ConcurrentRun = {
    completed: 0,
    resources: 0,
    seconds,
    peakRssMb,
    slowestKickoffMs: Math.max(...kicks.map((k) => k.latencyMs)),
    failures: [],
  };
  for (const s of settled) {
    if (s.status === 'rejected') {
      run.failures.push(s.reason instanceof Error ? s.reason.message : String(s.reason));
      continue;
    }
    const { output, error } = s.value.manifest;
    if (error.length === 0) run.completed++;
    else run.failures.push(`${error.length} error files`);
    run.resources += output.reduce((n, f) => n + (f.count ?? 0), 0);
  }
  await Promise.all(kicks.map((k) => deleteJob(k.statusUrl)));
  return run;
}

/**
 * Ten unfiltered system exports of one store started together: aggregate resources/s from the first
 * kick-off to the last manifest, how many completed, and the server's peak RSS. On the full store this
 * would take ten times the system export; the small store gives the same contention for a tenth.
 */
export async function benchConcurrent(
  ctx: BenchContext,
  store: { db: string; resources: number },
): Promise<void> {
  const timeoutMs = exportTimeoutMs(store.resources * CONCURRENT_EXPORTS);
  const label = `${CONCURRENT_EXPORTS} concurrent exports of ${store.resources.toLocaleString('en-US')}`;
  const runs = await eachRun(ctx, label, (server) => runConcurrent(server, timeoutMs), { db: store.db });
  const completed = figure(
    'concurrent.completed',
    `${label}: completed`,
    'exports',
    runs.map((r) => r.completed),
    {
      bar: { op: '>=', value: CONCURRENT_EXPORTS },
    },
  );
  // "All completed" must hold in every run, not only in the median one.
  completed.pass = completed.min >= CONCURRENT_EXPORTS;
  ctx.figures.push(
    figure(
      'concurrent.rate',
      `${label}, aggregate`,
      'resources/s',
      runs.map((r) => r.resources / r.seconds),
    ),
    completed,
    figure(
      'concurrent.rss',
      `${label}: peak server RSS`,
      'MiB',
      runs.map((r) => r.peakRssMb),
      { bar: BARS.serverRssMb },
    ),
  );
  ctx.details.concurrent = runs;
}
