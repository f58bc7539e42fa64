import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { BenchContext } from './context.js';
import { BARS, figure } from './figures.js';
import { runCli } from './processes.js';
import type { CliResult } from './processes.js';

async function removeDb(db: string): Promise<void> {
  await Promise.all(['', '-wal', '-shm', '.loaded'].map((s) => rm(db + s, { force: true })));
}

/**
 * Load NDJSON files into a fresh SQLite file with `fhirhose load`, run as a child process.
 * @returns the child's result and the resources it reported loading
 * @throws Error when the load fails or rejects resources
 */
export async function loadInto(
  ctx: Pick<BenchContext, 'env'>,
  dataDir: string,
  db: string,
): Promise<{ cli: CliResult; loaded: number }> {
  await removeDb(db);
  const cli = await runCli(['load', dataDir, '--db', db, '--quiet'], ctx.env);
  const m = /loaded (\d+) resources/.exec(cli.stdout);
  if (cli.code !== 0 || !m) throw new Error(`fhirhose load failed (${cli.code}): ${cli.stderr.slice(-2000)}`);
  const loaded = Number(m[1]);
  await writeFile(db + '.loaded', String(loaded));
  return { cli, loaded };
}

/** The probed peak RSS of a finished child, in MiB. */
export function requirePeak(cli: CliResult): number {
  if (cli.peakRssMb === undefined) throw new Error('the child process reported no peak RSS');
  return cli.peakRssMb;
}

/** Resources in a store an earlier bench loaded completely, or undefined. */
export async function loadedBefore(db: string): Promise<number | undefined> {
  if (!existsSync(db) || !existsSync(db + '.loaded')) return undefined;
  return Number(await readFile(db + '.loaded', 'utf8'));
}

/**
 * Loading rate: each run loads the whole data set into a new database file; the last run's file
 * stays as the store the exports read. The rate is resources over the wall time of the command.
 */
export async function benchLoad(ctx: BenchContext): Promise<void> {
  const results: { cli: CliResult; loaded: number }[] = [];
  for (let run = 1; run <= ctx.runs; run++) {
    ctx.log(`  load: run ${run} of ${ctx.runs}`);
    results.push(await loadInto(ctx, ctx.dataDir, ctx.db));
  }
  ctx.figures.push(
    figure(
      'load.sqlite.rate',
      'load NDJSON into SQLite (fhirhose load)',
      'resources/s',
      results.map((r) => r.loaded / r.cli.seconds),
      {
        bar: BARS.sqliteLoadRate,
      },
    ),
    figure(
      'load.sqlite.rss',
      'load: peak loader RSS',
      'MiB',
      results.map((r) => requirePeak(r.cli)),
      { bar: BARS.loaderRssMb },
    ),
  );
  ctx.details.load = results.map((r) => ({
    resources: r.loaded,
    seconds: r.cli.seconds,
    summary: r.cli.stdout.trim(),
  }));
}
