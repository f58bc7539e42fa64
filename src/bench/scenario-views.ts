import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './context.js';
import { eachRun } from './context.js';
import { exportTimeoutMs, POLL_INTERVAL_MS } from './export-run.js';
import { figure } from './figures.js';
import type { Bar } from './types.js';
import { cpuSeconds, runCli } from './processes.js';
import { deleteViewExport, runViewExport, ViewExportMissingError } from './view-export-http.js';

/** The two views of issue 15's bars, as JSON files shipped in `bench/views/`. */
const VIEW_DIR = fileURLToPath(new URL('../../../bench/views/', import.meta.url));
const VIEW_FILES = ['patient-demographics.json', 'observation-flat.json'] as const;
const FORMATS = ['parquet', 'csv'] as const;
type Format = (typeof FORMATS)[number];

/** Issue 15's bars. */
export const VIEW_BARS = Object.freeze({
  parquetRate: { op: '>=', value: 100_000 },
  serverRssMb: { op: '<=', value: 250 },
  /** CSV within 20% of Parquet: its rate as a percentage of Parquet's in the same run. */
  csvShare: { op: '>=', value: 80 },
} satisfies Record<string, Bar>);

interface ViewFile {
  file: string;
  resource: string;
  definition: unknown;
}

function loadViews(): ViewFile[] {
  return VIEW_FILES.map((name) => {
    const file = join(VIEW_DIR, name);
    const definition = JSON.parse(readFileSync(file, 'utf8')) as { resource: string };
    return { file, resource: definition.resource, definition };
  });
}

/** Resources the views read: every resource of each view's type (a view reads its type only). */
function resourcesRead(ctx: BenchContext, views: readonly ViewFile[]): number {
  return views.reduce((n, v) => n + (ctx.typeCounts[v.resource] ?? 0), 0);
}

/**
 * Issue 15: the patient-demographics and flattened Observation views over the bench data, to Parquet
 * and to CSV. First `fhirhose views run --db` of each view on its own (CPU per resource, peak RSS of
 * the CLI), then `$viewdefinition-export` of both views in one job against a fresh server, kick-off
 * to result: resources read per second and peak server RSS, with the bars.
 */
export async function benchViews(ctx: BenchContext): Promise<void> {
  const views = loadViews();
  const resources = resourcesRead(ctx, views);
  for (const format of FORMATS) await benchViewsRun(ctx, views, format);
  const rates: Partial<Record<Format, number[]>> = {};
  for (const format of FORMATS) {
    const done = await benchViewExport(ctx, views, format, resources);
    if (!done) return;
    rates[format] = done;
  }
  addShares(ctx, rates);
}

/** `fhirhose views run --db` of each view: CPU per resource read and the CLI's peak RSS. */
async function benchViewsRun(ctx: BenchContext, views: readonly ViewFile[], format: Format): Promise<void> {
  const cpu: number[] = [];
  const rss: number[] = [];
  for (let run = 1; run <= ctx.runs; run++) {
    ctx.log(`  views run --db, ${format}: run ${run} of ${ctx.runs}`);
    let seconds = 0;
    let peak = 0;
    for (const view of views) {
      const out = join(ctx.work, `view-run.${format}`);
      const args = ['views', 'run', view.file, '--db', ctx.db, '--format', format, '--out', out];
      const result = await runCli(args, ctx.env);
      await rm(out, { force: true });
      const m = /\(CPU ([\d.]+) s\)/.exec(result.stderr);
      if (result.code !== 0 || !m) throw new Error(`views run failed: ${result.stderr.slice(-500)}`);
      seconds += Number(m[1]);
      peak = Math.max(peak, result.peakRssMb ?? 0);
    }
    cpu.push((seconds * 1e6) / resourcesRead(ctx, views));
    rss.push(peak);
  }
  ctx.figures.push(
    figure(`views.run.${format}.cpu`, `views run --db to ${format}: CPU per resource read`, 'µs', cpu),
    figure(`views.run.${format}.rss`, `views run --db to ${format}: peak CLI RSS`, 'MiB', rss),
  );
}

/** Both views in one `$viewdefinition-export`; the rates, or undefined when the server lacks it. */
async function benchViewExport(
  ctx: BenchContext,
  views: readonly ViewFile[],
  format: Format,
  resources: number,
): Promise<number[] | undefined> {
  const timeoutMs = exportTimeoutMs(resources);
  let results: { seconds: number; rss: number; cpu: number }[];
  try {
    results = await eachRun(
      ctx,
      `$viewdefinition-export, ${format}`,
      async (server) => {
        const cpuBefore = cpuSeconds(server.pid) ?? 0;
        const run = await runViewExport(server.baseUrl, {
          views: views.map((v) => v.definition),
          format,
          intervalMs: POLL_INTERVAL_MS,
          timeoutMs,
        });
        const rss = server.peakRssMb();
        const cpu = (cpuSeconds(server.pid) ?? 0) - cpuBefore;
        const files = run.outputs.reduce((n, o) => n + o.locations.length, 0);
        if (run.outputs.length !== views.length || files === 0) {
          throw new Error(`view export gave ${run.outputs.length} outputs and ${files} files`);
        }
        await deleteViewExport(run.statusUrl);
        return { seconds: run.seconds, rss, cpu };
      },
      ctx.profileArgs ? { nodeArgs: ctx.profileArgs } : {},
    );
  } catch (err) {
    if (!(err instanceof ViewExportMissingError)) throw err;
    ctx.skipped.push({ what: '$viewdefinition-export', reason: err.message });
    return undefined;
  }
  const rates = results.map((r) => resources / r.seconds);
  const label = `$viewdefinition-export of 2 views to ${format} (${resources.toLocaleString('en-US')} read)`;
  ctx.figures.push(
    figure(`views.export.${format}.rate`, `${label}, kick-off to result`, 'resources/s', rates, {
      ...(format === 'parquet' ? { bar: VIEW_BARS.parquetRate } : {}),
    }),
    figure(
      `views.export.${format}.rss`,
      `$viewdefinition-export to ${format}: peak server RSS`,
      'MiB',
      results.map((r) => r.rss),
      { bar: VIEW_BARS.serverRssMb },
    ),
    // CPU time compares builds on a shared machine, where the rate moves with the load.
    figure(
      `views.export.${format}.cpu`,
      `$viewdefinition-export to ${format}: server CPU per resource read`,
      'µs',
      results.map((r) => (r.cpu * 1e6) / resources),
    ),
  );
  return rates;
}

/**
 * CSV's rate as a share of Parquet's, run by run, and Parquet's as a share of the system export
 * when this bench measured one (shares of the same run compare across machines).
 */
function addShares(ctx: BenchContext, rates: Partial<Record<Format, number[]>>): void {
  const parquet = rates.parquet;
  const csv = rates.csv;
  if (!parquet || !csv) return;
  const n = Math.min(parquet.length, csv.length);
  const csvShare = Array.from({ length: n }, (_, i) => (csv[i]! / parquet[i]!) * 100);
  ctx.figures.push(
    figure('views.share.csv', 'view export: CSV rate as a share of Parquet', '%', csvShare, {
      bar: VIEW_BARS.csvShare,
    }),
  );
  const system = ctx.figures.find((f) => f.id === 'export.system.rate');
  if (!system) return;
  for (const [format, runs] of Object.entries(rates)) {
    ctx.figures.push(
      figure(
        `views.share.${format}.system`,
        `view export to ${format} as a share of the system export`,
        '%',
        runs.map((r) => (r / system.median) * 100),
      ),
    );
  }
}
