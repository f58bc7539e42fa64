import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ExportService, WorkerPool } from '../export/index.js';
import { buildServer, exportPlugins, exportCapability } from '../server/index.js';
import { openSqliteStore } from '../store/index.js';
import type { SqliteStore } from '../store/index.js';
import { LocalDirStorage } from '../storage/index.js';
import type { ServeConfig } from './config.js';

/** A running server's parts, so tests and the CLI stop them in order. */
export interface Runtime {
  app: FastifyInstance;
  store: SqliteStore;
  service: ExportService;
  pool: WorkerPool;
  close(): Promise<void>;
}

const REAP_INTERVAL_MS = 60_000;

/** Assemble store, storage, worker threads, export service and HTTP server from a config. */
export function createRuntime(config: ServeConfig, log: Logger): Runtime {
  const store = openSqliteStore(config.dbPath);
  const storage = new LocalDirStorage(config.exportDir);
  const pool = new WorkerPool({
    dbPath: config.dbPath,
    storageRoot: config.exportDir,
    config: config.export,
    log,
  });
  const service = new ExportService({
    store,
    storage,
    config: config.export,
    log,
    wake: () => pool.wake(),
    fileUrl: (jobId, name) => `${config.baseUrl}/$export-files/${jobId}/${name}`,
    requiresAccessToken: false,
  });
  const app = buildServer({
    store,
    baseUrl: config.baseUrl,
    logger: log,
    plugins: exportPlugins(service, storage),
    capability: exportCapability(),
  });
  pool.start();
  const reaper = setInterval(() => {
    service.reap().catch((err: unknown) => log.error({ err }, 'reaping expired exports failed'));
  }, REAP_INTERVAL_MS);
  reaper.unref();
  return {
    app,
    store,
    service,
    pool,
    async close() {
      clearInterval(reaper);
      await app.close();
      await pool.stop();
      await store.close();
    },
  };
}
