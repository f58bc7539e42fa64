import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { withDefaultUser } from '../store/postgres.js';
import type { BenchContext } from './context.js';
import { eachRun } from './context.js';
import { releaseRun, runExport, exportTimeoutMs } from './export-run.js';
import { BARS, MB, figure } from './figures.js';
import { runCli } from './processes.js';
import { requirePeak } from './scenario-load.js';

/** The PostgreSQL the bench uses when none is given: the one these machines run. */
export const DEFAULT_PG_URL = 'postgres://127.0.0.1:5432/test';

/** A schema of its own on a PostgreSQL server, so a bench never touches other data. */
interface BenchSchema {
  /** What `--db` takes: the URL with the schema as its search_path. */
  db: string;
  /** Drop and create the schema again: an empty store. */
  reset(): Promise<void>;
  drop(): Promise<void>;
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function createSchema(url: string): Promise<BenchSchema> {
  const admin = withDefaultUser(url);
  const name = `fhirhose_bench_${randomBytes(5).toString('hex')}`;
  await adminQuery(admin, `CREATE SCHEMA ${name}`);
  const sep = admin.includes('?') ? '&' : '?';
  return {
    db: `${admin}${sep}options=${encodeURIComponent(`-c search_path=${name}`)}`,
    reset: () => adminQuery(admin, `DROP SCHEMA ${name} CASCADE; CREATE SCHEMA ${name}`),
    drop: () => adminQuery(admin, `DROP SCHEMA IF EXISTS ${name} CASCADE`),
  };
}

/**
 * The same loading and system-export figures on PostgreSQL: each load run fills an empty schema
 * with `fhirhose load`, then servers with 2 worker threads export what the last run loaded.
 */
export async function benchPostgres(ctx: BenchContext, url: string): Promise<void> {
  const schema = await createSchema(url);
  try {
    const loads: { seconds: number; loaded: number; rss: number }[] = [];
    for (let run = 1; run <= ctx.runs; run++) {
      ctx.log(`  PostgreSQL load: run ${run} of ${ctx.runs}`);
      await schema.reset();
      const cli = await runCli(['load', ctx.dataDir, '--db', schema.db, '--quiet'], ctx.env);
      const m = /loaded (\d+) resources/.exec(cli.stdout);
      if (cli.code !== 0 || !m)
        throw new Error(`fhirhose load into PostgreSQL failed (${cli.code}): ${cli.stderr.slice(-2000)}`);
      loads.push({ seconds: cli.seconds, loaded: Number(m[1]), rss: requirePeak(cli) });
    }
    ctx.figures.push(
      figure(
        'load.postgres.rate',
        'load NDJSON into PostgreSQL (fhirhose load)',
        'resources/s',
        loads.map((l) => l.loaded / l.seconds),
      ),
      figure(
        'load.postgres.rss',
        'PostgreSQL load: peak loader RSS',
        'MiB',
        loads.map((l) => l.rss),
      ),
    );
    const timeoutMs = exportTimeoutMs(ctx.resources);
    const runs = await eachRun(
      ctx,
      'PostgreSQL system export',
      async (server) => {
        const run = await runExport(server, { path: '/$export' }, { timeoutMs });
        await releaseRun(run);
        return run;
      },
      { db: schema.db, settings: { FHIRHOSE_EXPORT_WORKERS: '2' } },
    );
    ctx.figures.push(
      figure(
        'export.postgres.rate',
        'PostgreSQL system export, 2 workers, kick-off to manifest',
        'resources/s',
        runs.map((r) => r.resources / r.seconds),
        { bar: BARS.exportRate },
      ),
      figure(
        'export.postgres.mbps',
        'PostgreSQL system export, kick-off to manifest',
        'MB/s',
        runs.map((r) => r.bytes / MB / r.seconds),
      ),
      figure(
        'export.postgres.rss',
        'PostgreSQL system export: peak server RSS',
        'MiB',
        runs.map((r) => r.peakRssMb),
      ),
    );
    ctx.details.postgres = {
      load: loads,
      export: runs.map((r) => ({ resources: r.resources, seconds: r.seconds, files: r.files })),
    };
  } finally {
    await schema.drop();
  }
}
