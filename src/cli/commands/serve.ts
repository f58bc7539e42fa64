import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { generateResources } from '../../generate/index.js';
import type { FhirResource } from '../../fhir/index.js';
import { isPostgresUrl, openSqliteStore, redactDb } from '../../store/index.js';
import { ConfigError, loadServeConfig } from '../config.js';
import { describeStorage } from '../storage-config.js';
import type { ServeFlags } from '../config.js';
import { DEFAULT_EXPORT_CONFIG } from '../../export/index.js';
import { DEFAULT_DB, DEFAULT_PORT } from '../defaults.js';
import { createServerLog } from '../logger.js';
import { createRuntime } from '../runtime.js';
import type { Runtime } from '../runtime.js';
import { holdYoungGeneration } from '../young-generation.js';
import { checkDemoHost, printAuthStatus } from './serve-auth.js';

const DEMO_DB = '.fhirhose/demo.db';
const DEMO_PATIENTS = 120;
const DEMO_SEED = 42;

async function createDemoData(dbPath: string, log: Logger): Promise<void> {
  const store = openSqliteStore(dbPath);
  try {
    let batch: FhirResource[] = [];
    let total = 0;
    for (const resource of generateResources({ patients: DEMO_PATIENTS, seed: DEMO_SEED })) {
      batch.push(resource);
      if (batch.length === 2000) {
        total += batch.length;
        await store.ingest(batch);
        batch = [];
      }
    }
    total += batch.length;
    await store.ingest(batch);
    log.info({ resources: total, patients: DEMO_PATIENTS, dbPath }, 'demo data created');
  } finally {
    await store.close();
  }
}

interface ServeOptions extends ServeFlags {
  demo?: boolean;
}

/** `fhirhose serve`: the FHIR server with Bulk Data export. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the FHIR server with Bulk Data export')
    .option(
      '--db <path-or-url>',
      `SQLite database file or postgres:// URL (env FHIRHOSE_DB; default ${DEFAULT_DB})`,
    )
    .option(
      '--host <host>',
      'address to bind (env FHIRHOSE_HOST; default 127.0.0.1, loopback only)',
      undefined,
    )
    .option('--port <port>', `port (env FHIRHOSE_PORT; default ${DEFAULT_PORT})`)
    .option(
      '--base-url <url>',
      'public base URL used in every absolute link (env FHIRHOSE_BASE_URL; default http://HOST:PORT)',
    )
    .option(
      '--export-dir <dir>',
      'folder for export files; required with PostgreSQL unless --storage is given (env FHIRHOSE_EXPORT_DIR; default <db>.exports with SQLite)',
    )
    .option('--storage <url>', 's3://bucket/prefix: keep export files in S3 (env FHIRHOSE_STORAGE)')
    .option(
      '--download-mode <mode>',
      'server (files streamed by this server) or presigned (S3 URLs) (env FHIRHOSE_DOWNLOAD_MODE; default server)',
    )
    .option(
      '--workers <n>',
      `export worker threads (env FHIRHOSE_EXPORT_WORKERS; default ${DEFAULT_EXPORT_CONFIG.workers})`,
    )
    .option('--no-workers', 'serve the API only; `fhirhose worker` processes run the exports')
    .option(
      '--demo',
      `serve generated demo data (${DEMO_PATIENTS} patients) from ${DEMO_DB}, created on first run`,
    )
    .option('--auth', 'require SMART Backend Services tokens (the default; with --demo, adds a demo client)')
    .option('--no-auth', 'serve without authorization (env FHIRHOSE_AUTH=off): anyone can read everything')
    .option('--tls-cert <file>', 'PEM certificate chain: serve HTTPS, TLS 1.2+ (env FHIRHOSE_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert (env FHIRHOSE_TLS_KEY)')
    .option('--auth-issuer <url>', 'trust access tokens of this external issuer (env FHIRHOSE_AUTH_ISSUER)')
    .option('--auth-issuer-jwks-url <url>', "the issuer's JWKS URL (env FHIRHOSE_AUTH_ISSUER_JWKS_URL)")
    .option('--auth-issuer-token-url <url>', "the issuer's token URL (env FHIRHOSE_AUTH_ISSUER_TOKEN_URL)")
    .option(
      '--log-format <format>',
      'pretty (readable lines) or json (one object per line); default pretty on a terminal, else json (env FHIRHOSE_LOG_FORMAT)',
    )
    .action(async (opts: ServeOptions) => {
      holdYoungGeneration();
      const flags: ServeFlags = { ...opts };
      // The demo creates its data in a file of its own; it never reads FHIRHOSE_DB.
      if (opts.demo && opts.db !== undefined && isPostgresUrl(opts.db)) {
        throw new ConfigError('--demo serves a SQLite file; give it a file path as --db, or no --db');
      }
      if (opts.demo && !opts.db) flags.db = DEMO_DB;
      // The demo runs open on loopback unless --auth asks for tokens.
      if (opts.demo) flags.auth = opts.auth ?? false;
      const config = loadServeConfig(process.env, flags);
      if (opts.demo) checkDemoHost(config);
      const { log, writeLine } = createServerLog(config.logLevel, config.logFormat);
      // A new SQLite file may name a folder that does not exist yet: make it, as `load` does.
      if (!isPostgresUrl(config.db)) mkdirSync(dirname(config.db), { recursive: true });
      if (opts.demo && !existsSync(config.db)) await createDemoData(config.db, log);
      const runtime = await createRuntime(config, log, { logLine: writeLine });
      // Booting threads take 100-200 ms of CPU each: a first request served meanwhile (measured: a
      // kick-off) waits for a core behind them, so listen once they are up.
      await runtime.pool.ready();
      await listen(runtime, config.host, config.port);
      const workers =
        config.export.workers === 0 ? 'no export workers' : `${config.export.workers} export workers`;
      // In JSON mode stdout carries only log objects (the banner for a person goes to stderr).
      const json = config.logFormat === 'json';
      const say = json ? console.error : console.log;
      if (json) {
        const storage = describeStorage(config.files.storage);
        const fields = {
          url: config.baseUrl,
          db: redactDb(config.db),
          storage,
          workers: config.export.workers,
        };
        log.info(fields, 'fhirhose listening');
      }
      say(
        `fhirhose listening on ${config.baseUrl} (database ${redactDb(config.db)}, export files in ${describeStorage(config.files.storage)}, ${workers})`,
      );
      await printAuthStatus(config, runtime.auth, opts.demo === true, say);
      if (runtime.dashboard) {
        const needs = runtime.dashboard.open ? 'open on this machine' : 'needs an operator credential';
        say(`Dashboard: ${runtime.dashboard.url} (${needs}; docs/dashboard.md)`);
      }
      if (opts.demo && !runtime.auth) {
        say('Try an export:');
        say(`  curl -si -H 'Prefer: respond-async' '${config.baseUrl}/$export?_type=Patient,Observation'`);
        say('  then poll the Content-Location URL it returns until it answers 200 with a manifest.');
        say(
          `  Groups: curl -s '${config.baseUrl}/Group' ; Group export: ${config.baseUrl}/Group/<id>/$export`,
        );
      }
      const shutdown = (signal: string): void => {
        log.info({ signal }, 'shutting down');
        runtime.close().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });
}

/**
 * Listen, or end at once on a port that is taken or refused: the worker threads would otherwise keep
 * the process alive after the error. The runtime is closed first so nothing is left running.
 * @throws ConfigError naming --port when the address is in use or not allowed
 */
async function listen(runtime: Runtime, host: string, port: number): Promise<void> {
  try {
    await runtime.app.listen({ host, port });
  } catch (err) {
    await runtime.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new ConfigError(
        `port ${port} on ${host} is already in use (another fhirhose serve?); choose a free one with --port N (or FHIRHOSE_PORT)`,
      );
    }
    if (code === 'EACCES') {
      throw new ConfigError(
        `not allowed to listen on port ${port} on ${host}; choose a port above 1023 with --port N (or FHIRHOSE_PORT)`,
      );
    }
    if (code === 'EADDRNOTAVAIL') {
      throw new ConfigError(
        `${host} is not an address of this machine; choose another with --host (or FHIRHOSE_HOST)`,
      );
    }
    throw err;
  }
}
