import type { BenchContext } from './context.js';
import { eachRun } from './context.js';
import { releaseRun, runExport, exportTimeoutMs } from './export-run.js';
import type { ExportRun } from './export-run.js';
import { BARS, MB, cpuRateFigure, figure } from './figures.js';
import { downloadAll, metadataLoop } from './http.js';
import { percentile } from './stats.js';

/** Downloads at once, as the client's default. */
export const PARALLEL_DOWNLOADS = 4;

interface SystemRun {
  run: ExportRun;
  plainSeconds: number;
  gzipSeconds: number;
  gzipWireBytes: number;
  peakRssWithDownloadsMb: number;
}

/**
 * Unfiltered system export, kick-off to manifest; then every file downloaded with 4 in parallel,
 * once without and once with `Accept-Encoding: gzip` (the server compresses on the fly).
 */
export async function benchSystemExport(ctx: BenchContext): Promise<void> {
  const timeoutMs = exportTimeoutMs(ctx.resources);
  const results = await eachRun(
    ctx,
    'system export',
    async (server) => {
      const run = await runExport(server, { path: '/$export' }, { timeoutMs });
      const urls = run.manifest.output.map((f) => f.url);
      let t = performance.now();
      const plain = await downloadAll(urls, false, PARALLEL_DOWNLOADS);
      const plainSeconds = (performance.now() - t) / 1000;
      t = performance.now();
      const gz = await downloadAll(urls, true, PARALLEL_DOWNLOADS);
      const gzipSeconds = (performance.now() - t) / 1000;
      if (plain.bytes !== run.bytes || gz.bytes !== run.bytes) {
        throw new Error(`downloaded ${plain.bytes} / ${gz.bytes} bytes of ${run.bytes}`);
      }
      const peakRssWithDownloadsMb = server.peakRssMb();
      await releaseRun(run);
      return { run, plainSeconds, gzipSeconds, gzipWireBytes: gz.wireBytes, peakRssWithDownloadsMb };
    },
    ctx.profileArgs ? { nodeArgs: ctx.profileArgs } : {},
  );
  addSystemFigures(ctx, results);
}

function addSystemFigures(ctx: BenchContext, results: SystemRun[]): void {
  const runs = results.map((r) => r.run);
  const n = runs[0]!.resources;
  const rate = (r: ExportRun): number => r.resources / r.seconds;
  ctx.figures.push(
    figure('export.system.rate', 'system export, kick-off to manifest', 'resources/s', runs.map(rate), {
      bar: BARS.exportRate,
    }),
    figure(
      'export.system.mbps',
      'system export, kick-off to manifest',
      'MB/s',
      runs.map((r) => r.bytes / MB / r.seconds),
    ),
    cpuRateFigure('export.system', 'system export', runs),
    figure(
      'export.system.rss',
      'system export: peak server RSS',
      'MiB',
      runs.map((r) => r.peakRssMb),
      {
        bar: BARS.serverRssMb,
      },
    ),
    figure(
      'download.plain.mbps',
      'download all files, no gzip (4 parallel)',
      'MB/s',
      results.map((r) => r.run.bytes / MB / r.plainSeconds),
    ),
    figure(
      'download.gzip.mbps',
      'download all files, gzip (4 parallel; decoded MB)',
      'MB/s',
      results.map((r) => r.run.bytes / MB / r.gzipSeconds),
    ),
    figure(
      'download.plain.total',
      'system export + download, no gzip',
      'resources/s',
      results.map((r) => n / (r.run.seconds + r.plainSeconds)),
    ),
    figure(
      'download.gzip.total',
      'system export + download, gzip',
      'resources/s',
      results.map((r) => n / (r.run.seconds + r.gzipSeconds)),
    ),
    figure(
      'download.rss',
      'peak server RSS incl. both downloads',
      'MiB',
      results.map((r) => r.peakRssWithDownloadsMb),
      {
        bar: BARS.serverRssMb,
      },
    ),
    figure(
      'latency.status.p50',
      'status poll p50 (system export)',
      'ms',
      runs.map((r) => percentile(r.pollLatenciesMs, 50)),
    ),
    figure(
      'latency.status.p99',
      'status poll p99 (system export)',
      'ms',
      runs.map((r) => percentile(r.pollLatenciesMs, 99)),
      {
        bar: BARS.latencyP99Ms,
      },
    ),
    figure(
      'latency.kickoff',
      'kick-off round trip (system export)',
      'ms',
      runs.map((r) => r.kickoffMs),
      {
        bar: BARS.latencyP99Ms,
      },
    ),
  );
  ctx.details.system = results.map((r) => ({
    resources: r.run.resources,
    files: r.run.files,
    bytes: r.run.bytes,
    seconds: r.run.seconds,
    polls: r.run.pollLatenciesMs.length,
    throttledPolls: r.run.throttledPolls,
    plainDownloadSeconds: r.plainSeconds,
    gzipDownloadSeconds: r.gzipSeconds,
    gzipWireBytes: r.gzipWireBytes,
    gzipRatio: r.run.bytes / r.gzipWireBytes,
  }));
}

/**
 * Latency under load: during a system export, status polls every 300 ms and, in a tight loop beside
 * them, GET /metadata (a second probe of how responsive the event loop stays).
 */
export async function benchLatency(ctx: BenchContext): Promise<void> {
  const timeoutMs = exportTimeoutMs(ctx.resources);
  const results = await eachRun(ctx, 'latency probe', async (server) => {
    const stop = new AbortController();
    const metadataMs: number[] = [];
    let probe: Promise<unknown> = Promise.resolve();
    const startProbe = (): void => {
      // Settled into a value here and re-thrown below, so a failing probe is never an unhandled rejection.
      probe = metadataLoop(server.baseUrl, stop.signal, metadataMs).then(
        () => undefined,
        (err: unknown) => err,
      );
    };
    let run: ExportRun;
    try {
      run = await runExport(server, { path: '/$export' }, { timeoutMs, onAccepted: startProbe });
    } finally {
      stop.abort();
    }
    const probeError = await probe;
    if (probeError !== undefined) throw probeError;
    await releaseRun(run);
    return { run, metadataMs };
  });
  ctx.figures.push(
    figure(
      'latency.metadata.p50',
      'GET /metadata p50, back to back during export',
      'ms',
      results.map((r) => percentile(r.metadataMs, 50)),
    ),
    figure(
      'latency.metadata.p99',
      'GET /metadata p99, back to back during export',
      'ms',
      results.map((r) => percentile(r.metadataMs, 99)),
      {
        bar: BARS.latencyP99Ms,
      },
    ),
    figure(
      'latency.probe.status.p99',
      'status poll p99 (export + /metadata loop)',
      'ms',
      results.map((r) => percentile(r.run.pollLatenciesMs, 99)),
      {
        bar: BARS.latencyP99Ms,
      },
    ),
    figure(
      'latency.probe.rate',
      'system export rate under the /metadata loop',
      'resources/s',
      results.map((r) => r.run.resources / r.run.seconds),
    ),
  );
  ctx.details.latency = results.map((r) => ({
    metadataRequests: r.metadataMs.length,
    statusPolls: r.run.pollLatenciesMs.length,
    metadataMaxMs: Math.max(...r.metadataMs),
    statusMaxMs: Math.max(...r.run.pollLatenciesMs),
  }));
}
