import { rm } from 'node:fs/promises';
import type { BenchContext } from './context.js';
import { eachRun } from './context.js';
import { BARS, figure } from './figures.js';
import { deleteJob } from './http.js';
import { runCli } from './processes.js';
import { requirePeak } from './scenario-load.js';
import { PARALLEL_DOWNLOADS } from './scenario-system.js';

interface ClientRun {
  /** Kick-off accepted to summary written (every file downloaded, verified and on disk). */
  seconds: number;
  /** Spawn to exit of the client process, Node start-up included. */
  processSeconds: number;
  resources: number;
  bytes: number;
  clientRssMb: number;
  serverRssMb: number;
}

interface JsonEvent {
  time: string;
  event: string;
  statusUrl?: string;
  ok?: boolean;
  resources?: number;
  bytes?: number;
}

function events(stdout: string): JsonEvent[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonEvent);
}

/**
 * Our client end to end: `fhirhose export` as a child process (4 parallel downloads, no gzip on
 * loopback), timed from its kick-off event to its summary event. The bench releases the job itself
 * afterwards, as the system scenario does after its own download: with `--cleanup` the client's
 * DELETE (the server removing 1.2 GB of files at 1M, about 0.3 s of kernel time) fell inside the
 * client's time but outside the figure it is compared with.
 */
export async function benchClient(ctx: BenchContext): Promise<void> {
  const runs = await eachRun(ctx, 'client end to end', async (server, run): Promise<ClientRun> => {
    const out = `${ctx.work}/client-out-${run}`;
    await rm(out, { recursive: true, force: true });
    const args = [
      'export',
      server.baseUrl,
      '--out',
      out,
      '--parallel',
      String(PARALLEL_DOWNLOADS),
      '--json',
      '--no-gzip',
    ];
    const cli = await runCli(args, ctx.env);
    const serverRssMb = server.peakRssMb();
    await rm(out, { recursive: true, force: true });
    const list = events(cli.stdout);
    const kick = list.find((e) => e.event === 'kickoff');
    const summary = list.find((e) => e.event === 'summary');
    // Jobs are durable: release this one (or cancel it) so its files go and the next server does not
    // resume it.
    if (kick?.statusUrl) await deleteJob(kick.statusUrl);
    if (cli.code !== 0 || !kick || !summary?.ok) {
      throw new Error(`fhirhose export failed (${cli.code}): ${cli.stderr.slice(-2000)}`);
    }
    return {
      seconds: (Date.parse(summary.time) - Date.parse(kick.time)) / 1000,
      processSeconds: cli.seconds,
      resources: summary.resources ?? 0,
      bytes: summary.bytes ?? 0,
      clientRssMb: requirePeak(cli),
      serverRssMb,
    };
  });
  ctx.figures.push(
    figure(
      'client.rate',
      'client end to end, kick-off to last byte on disk',
      'resources/s',
      runs.map((r) => r.resources / r.seconds),
      {
        bar: BARS.endToEndRate,
      },
    ),
    figure(
      'client.rss',
      'client: peak client RSS',
      'MiB',
      runs.map((r) => r.clientRssMb),
      { bar: BARS.clientRssMb },
    ),
    figure(
      'client.server.rss',
      'client: peak server RSS',
      'MiB',
      runs.map((r) => r.serverRssMb),
      { bar: BARS.serverRssMb },
    ),
  );
  ctx.details.client = runs;
}
