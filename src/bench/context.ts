import { randomUUID } from 'node:crypto';
import type { ChildEnv } from './processes.js';
import { startServer } from './server.js';
import type { BenchServer } from './server.js';
import type { Figure, Skipped } from './types.js';

/** What every scenario gets: where the data is, how often to run, and where to put results. */
export interface BenchContext {
  /** Working folder (data, databases, export files). */
  work: string;
  /** The loaded SQLite store that export scenarios read. */
  db: string;
  /** Generated NDJSON files. */
  dataDir: string;
  /** Resources in the store. */
  resources: number;
  /** Generated resources per type. */
  typeCounts: Record<string, number>;
  runs: number;
  env: ChildEnv;
  log: (line: string) => void;
  /** Node flags for the servers of the export scenarios, e.g. `--cpu-prof`. */
  profileArgs?: readonly string[];
  figures: Figure[];
  skipped: Skipped[];
  failures: Skipped[];
  details: Record<string, unknown>;
}

/** Options of {@link withServer}. */
export interface WithServerOptions {
  db?: string;
  settings?: Record<string, string>;
  nodeArgs?: readonly string[];
  /** Start the server with authorization on (SMART Backend Services tokens). */
  auth?: boolean;
}

/** Run `fn` against a fresh server child process, stopped (and its files removed) afterwards. */
export async function withServer<T>(
  ctx: BenchContext,
  fn: (server: BenchServer) => Promise<T>,
  options: WithServerOptions = {},
): Promise<T> {
  const server = await startServer({
    db: options.db ?? ctx.db,
    exportDir: `${ctx.work}/exports-${randomUUID()}`,
    env: ctx.env,
    ...(options.settings ? { settings: options.settings } : {}),
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    ...(options.auth ? { auth: true } : {}),
  });
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** Run `fn` once per run, each against a fresh server, logging progress. */
export async function eachRun<T>(
  ctx: BenchContext,
  name: string,
  fn: (server: BenchServer, run: number) => Promise<T>,
  options: WithServerOptions = {},
): Promise<T[]> {
  const results: T[] = [];
  for (let run = 1; run <= ctx.runs; run++) {
    ctx.log(`  ${name}: run ${run} of ${ctx.runs}`);
    results.push(await withServer(ctx, (server) => fn(server, run), options));
  }
  return results;
}
