import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { ensureDataset } from './dataset.js';
import { figure } from './figures.js';
import { formatValue } from './format.js';
import { LoadSampler, answers } from './machine.js';
import type { ChildEnv } from './processes.js';
import { benchClient } from './scenario-client.js';
import { benchConcurrent } from './scenario-concurrent.js';
import {
  benchElementsExport,
  benchGroupExport,
  benchMemoryScaling,
  benchPatientExport,
  benchTypeFilterExport,
} from './scenario-exports.js';
import { benchCeilings } from './scenario-ceilings.js';
import { benchLoad, loadInto, loadedBefore } from './scenario-load.js';
import { benchMixed } from './scenario-mixed.js';
import { benchViews } from './scenario-views.js';
import { benchPostgres, DEFAULT_PG_URL } from './scenario-postgres.js';
import { benchLatency, benchSystemExport } from './scenario-system.js';
import { withShares } from './shares.js';
import type { BenchReport } from './types.js';

/** Scenario names, in the order they run; `--only` picks among them. */
export const SCENARIOS = [
  'load',
  'ceilings',
  'system',
  'latency',
  'patient',
  'group',
  'typefilter',
  'elements',
  'views',
  'client',
  'scaling',
  'concurrent',
  'mixed',
  'postgres',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Resources to generate and load (default 1M). */
  resources: number;
  /** Runs per figure (default 3). */
  runs: number;
  /** Working folder, kept afterwards so data and stores are reused; default a temp folder, removed. */
  dir?: string;
  /** Run only these scenarios (data is still generated and loaded). */
  only?: readonly ScenarioName[];
  /** Environment for the child processes. */
  env: ChildEnv;
  /** Progress lines for a person. */
  log: (line: string) => void;
  /** Write V8 CPU profiles of the export scenarios' servers into this folder. */
  profileDir?: string;
  /** The command line, recorded in the report. */
  command: string;
  /** PostgreSQL server for the `postgres` scenario (default {@link DEFAULT_PG_URL}); each run uses a schema of its own. */
  pgUrl?: string;
}

/** The smaller store of the memory-scaling figure. */
export const SMALL_RESOURCES = 100_000;

type Scenario = (ctx: BenchContext, options: BenchOptions) => Promise<void>;

const RUNNERS: Record<Exclude<ScenarioName, 'load'>, Scenario> = {
  ceilings: benchCeilings,
  system: benchSystemExport,
  latency: benchLatency,
  patient: benchPatientExport,
  group: benchGroupExport,
  typefilter: benchTypeFilterExport,
  elements: benchElementsExport,
  views: benchViews,
  client: benchClient,
  scaling: benchScaling,
  concurrent: benchConcurrentSmall,
  mixed: benchMixedSmall,
  postgres: (ctx, options) => benchPostgresIfUp(ctx, options.pgUrl ?? DEFAULT_PG_URL),
};

/**
 * Generate data, load it into SQLite, and measure every hot path with child-process servers
 * and clients (see docs/benchmarks.md).
 * @throws Error when the data cannot be generated or loaded; a failing scenario is reported instead
 */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const sampler = new LoadSampler();
  const work = options.dir ?? (await mkdtemp(join(tmpdir(), 'fhirhose-bench-')));
  await mkdir(work, { recursive: true });
  try {
    const ctx = await prepare(options, work);
    for (const name of SCENARIOS) {
      if (name === 'load' || (options.only && !options.only.includes(name))) continue;
      options.log(`${name}`);
      const before = ctx.figures.length;
      await attempt(ctx, name, () => RUNNERS[name](ctx, options));
      for (const f of ctx.figures.slice(before))
        options.log(`  = ${f.label}: ${formatValue(f.median)} ${f.unit}`);
    }
    addFullScaling(ctx);
    ctx.figures = withShares(ctx.figures);
    for (const f of ctx.figures.filter((f) => f.id.startsWith('share.')))
      options.log(`  = ${f.label}: ${formatValue(f.median)} ${f.unit}`);
    const dataset = ctx.details.dataset as BenchReport['dataset'];
    return {
      startedAt,
      totalSeconds: (performance.now() - started) / 1000,
      command: options.command,
      options: {
        resources: options.resources,
        runs: options.runs,
        ...(options.only ? { only: [...options.only] } : {}),
      },
      machine: sampler.finish(),
      dataset,
      figures: ctx.figures,
      skipped: ctx.skipped,
      failures: ctx.failures,
      details: ctx.details,
    };
  } finally {
    if (options.dir === undefined) await rm(work, { recursive: true, force: true });
  }
}

async function prepare(options: BenchOptions, work: string): Promise<BenchContext> {
  options.log(`generate ${options.resources.toLocaleString('en-US')} resources into ${work}`);
  const data = await ensureDataset(join(work, `data-${options.resources}`), options.resources);
  const ctx: BenchContext = {
    work,
    db: join(work, `store-${options.resources}.db`),
    dataDir: data.dir,
    resources: data.resources,
    typeCounts: data.counts,
    runs: options.runs,
    env: options.env,
    log: options.log,
    ...(options.profileDir ? { profileArgs: ['--cpu-prof', '--cpu-prof-dir', options.profileDir] } : {}),
    figures: [],
    skipped: [],
    failures: [],
    details: {
      dataset: { resources: data.resources, patients: data.patients, ndjsonBytes: data.bytes },
      generateSeconds: data.seconds,
    },
  };
  if (!options.only || options.only.includes('load')) {
    options.log('load');
    await benchLoad(ctx);
    for (const f of ctx.figures) options.log(`  = ${f.label}: ${formatValue(f.median)} ${f.unit}`);
  } else if ((await loadedBefore(ctx.db)) === undefined) {
    options.log('load (once, not measured)');
    await loadInto(ctx, ctx.dataDir, ctx.db);
  }
  return ctx;
}

async function attempt(ctx: BenchContext, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    // A failed scenario is reported in the table and the JSON, and the bench goes on with the next.
    const reason = err instanceof Error ? err.message : String(err);
    ctx.failures.push({ what, reason });
    ctx.log(`  FAILED: ${reason}`);
  }
}

/** A loaded store of about {@link SMALL_RESOURCES} resources, or undefined when the data set is that small. */
async function smallStore(
  ctx: BenchContext,
): Promise<{ db: string; resources: number; dataDir: string } | undefined> {
  if (ctx.resources < SMALL_RESOURCES * 2) return undefined;
  const small = await ensureDataset(join(ctx.work, `data-${SMALL_RESOURCES}`), SMALL_RESOURCES);
  const db = join(ctx.work, `store-${SMALL_RESOURCES}.db`);
  if ((await loadedBefore(db)) === undefined) {
    ctx.log(`  load ${small.resources} resources (not measured)`);
    await loadInto(ctx, small.dir, db);
  }
  return { db, resources: small.resources, dataDir: small.dir };
}

async function benchScaling(ctx: BenchContext): Promise<void> {
  const small = await smallStore(ctx);
  if (!small) {
    const reason = `the data set is not much larger than ${SMALL_RESOURCES.toLocaleString('en-US')}`;
    ctx.skipped.push({ what: 'memory scaling', reason });
    return;
  }
  await benchMemoryScaling(ctx, small.db, small.resources);
}

/** Ten concurrent exports of the small store (the main one when the data set is small). */
async function benchConcurrentSmall(ctx: BenchContext): Promise<void> {
  const small = await smallStore(ctx);
  await benchConcurrent(ctx, small ?? { db: ctx.db, resources: ctx.resources });
}

/**
 * The mixed load of 5 clients on the small store (the main one when the data set is small): 20
 * exports at once, twice per run (one client alone first), fit the 15-minute budget only there.
 */
async function benchMixedSmall(ctx: BenchContext): Promise<void> {
  const small = await smallStore(ctx);
  await benchMixed(ctx, small ?? { db: ctx.db, resources: ctx.resources, dataDir: ctx.dataDir });
}

/** The full-size point of the memory-scaling figure is the system export's peak RSS. */
function addFullScaling(ctx: BenchContext): void {
  const system = ctx.figures.find((f) => f.id === 'export.system.rss');
  if (!system || !ctx.figures.some((f) => f.id === 'scaling.small.rss')) return;
  const label = `peak server RSS, export of ${ctx.resources.toLocaleString('en-US')}`;
  ctx.figures.push(
    figure('scaling.full.rss', label, 'MiB', system.runs, system.bar ? { bar: system.bar } : {}),
  );
}

/** The PostgreSQL figures, or a skip with its reason when nothing answers at the URL. */
async function benchPostgresIfUp(ctx: BenchContext, url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  if (!(await answers(hostname, Number(port || 5432)))) {
    ctx.skipped.push({ what: 'PostgreSQL store', reason: `nothing answers at ${hostname}:${port || 5432}` });
    return;
  }
  await benchPostgres(ctx, url);
}
