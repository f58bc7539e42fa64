import type { Command } from 'commander';
import { WorkerPool } from '../../export/index.js';
import { openStore, redactDb } from '../../store/index.js';
import { ConfigError, loadServeConfig } from '../config.js';
import { describeStorage } from '../storage-config.js';
import type { ServeFlags } from '../config.js';
import { createServerLog } from '../logger.js';

interface WorkerOptions {
  db?: string;
  exportDir?: string;
  storage?: string;
  baseUrl?: string;
  threads?: string;
  logFormat?: string;
}

/**
 * `fhirhose worker`: a process that only runs export units, beside `fhirhose serve --no-workers`. Any
 * number of them share one PostgreSQL database (or one SQLite file on one machine).
 */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run export units for servers sharing this database (pair with `serve --no-workers`)')
    .option(
      '--db <path-or-url>',
      'database the servers use: SQLite file or postgres:// URL (env FHIRHOSE_DB)',
    )
    .option(
      '--export-dir <dir>',
      'folder for export files, the same as the servers use; required with PostgreSQL unless --storage is given (env FHIRHOSE_EXPORT_DIR)',
    )
    .option(
      '--storage <url>',
      's3://bucket/prefix for export files, as the servers use (env FHIRHOSE_STORAGE)',
    )
    .option(
      '--base-url <url>',
      'public base URL of the servers, for relative Attachment URLs in exports (env FHIRHOSE_BASE_URL)',
    )
    .option('--threads <n>', 'worker threads in this process (env FHIRHOSE_EXPORT_WORKERS)')
    .option(
      '--log-format <format>',
      'pretty (readable lines) or json (one object per line); default pretty on a terminal, else json (env FHIRHOSE_LOG_FORMAT)',
    )
    .action(async (opts: WorkerOptions) => {
      const flags: ServeFlags = {};
      if (opts.baseUrl) flags.baseUrl = opts.baseUrl;
      if (opts.db) flags.db = opts.db;
      if (opts.exportDir) flags.exportDir = opts.exportDir;
      if (opts.storage) flags.storage = opts.storage;
      if (opts.threads) flags.workers = opts.threads;
      if (opts.logFormat) flags.logFormat = opts.logFormat;
      const config = loadServeConfig(process.env, flags);
      if (config.export.workers === 0) throw new ConfigError('--threads must be at least 1 for a worker');
      const { log, writeLine } = createServerLog(config.logLevel, config.logFormat);
      // Open it once here, so a database that is unreachable or cannot be migrated ends the command with
      // its error instead of threads that fail and are replaced forever.
      await (await openStore(config.db)).close();
      const pool = new WorkerPool({
        db: config.db,
        storage: config.files.storage,
        config: config.export,
        log,
        logLine: writeLine,
      });
      pool.start();
      log.info(
        {
          db: redactDb(config.db),
          storage: describeStorage(config.files.storage),
          threads: config.export.workers,
        },
        'export worker started',
      );
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          void pool.stop().then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      log.info('export worker stopped');
    });
}
