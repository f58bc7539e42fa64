import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createAuth } from '../auth/index.js';
import type { Auth } from '../auth/index.js';
import { ExportService, WorkerPool } from '../export/index.js';
import {
  authCapability,
  authPlugins,
  buildServer,
  exportPlugins,
  exportCapability,
  viewPlugins,
  withViewCapability,
} from '../server/index.js';
import { openStore } from '../store/index.js';
import type { ResourceStore } from '../store/index.js';
import { createStorage } from '../storage/index.js';
import type { ServeConfig } from './config.js';

/** A running server's parts, so tests and the CLI stop them in order. */
export interface Runtime {
  app: FastifyInstance;
  store: ResourceStore;
  service: ExportService;
  pool: WorkerPool;
  /** Authorization parts, when auth is on. */
  auth?: Auth;
  close(): Promise<void>;
}

/** Optional parts of {@link createRuntime}: the log writer of the worker threads, and test seams. */
export interface RuntimeDeps {
  /** Writes a worker thread's JSON log line in the server's log format; unset, threads write JSON to stdout. */
  logLine?: (line: string) => void;
  /** Clock of the authorization layer (token and assertion times, JWKS caching). */
  now?: () => number;
  /** Clock of the export service (job expiry, reaping, URL signing). */
  exportNow?: () => number;
}

const REAP_INTERVAL_MS = 60_000;

/**
 * Assemble store (SQLite or PostgreSQL), storage, worker threads, export service and HTTP server from
 * a config. With `export.workers` 0 the process serves the API only; `fhirhose worker` runs the units.
 * @throws StoreError when the database cannot be opened or migrated
 */
export async function createRuntime(
  config: ServeConfig,
  log: Logger,
  deps: RuntimeDeps = {},
): Promise<Runtime> {
  // Read before the store opens, so a missing certificate leaves no open connection behind.
  const https = config.tls
    ? { cert: readFileSync(config.tls.certPath), key: readFileSync(config.tls.keyPath) }
    : undefined;
  const store = await openStore(config.db);
  const auth = config.auth.enabled
    ? createAuth(config.auth, {
        store: store.auth,
        baseUrl: config.baseUrl,
        ...(deps.now ? { now: deps.now } : {}),
      })
    : undefined;
  const storage = createStorage(config.files.storage);
  const pool = new WorkerPool({
    db: config.db,
    storage: config.files.storage,
    config: config.export,
    log,
    ...(deps.logLine ? { logLine: deps.logLine } : {}),
  });
  const service = new ExportService({
    store,
    storage,
    config: config.export,
    log,
    wake: () => pool.wake(),
    fileUrl: (jobId, name) => `${config.baseUrl}/$export-files/${jobId}/${name}`,
    pageUrl: (jobId, index) => `${config.baseUrl}/$export-status/${jobId}/page/${index}`,
    requiresAccessToken: auth !== undefined,
    ...(deps.exportNow ? { now: deps.exportNow } : {}),
    ...(config.files.downloads === 'presigned'
      ? { presignedUrlSeconds: config.files.presignedUrlSeconds }
      : {}),
  });
  const app = buildServer({
    store,
    baseUrl: config.baseUrl,
    logger: log,
    plugins: [
      ...(auth ? authPlugins(auth) : []),
      ...exportPlugins(service, config.kickoffLimits),
      ...viewPlugins(),
    ],
    capability: withViewCapability({ ...exportCapability(), ...(auth ? authCapability(auth) : {}) }),
    ...(auth ? { auth: auth.verifier } : {}),
    ...(https ? { https } : {}),
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
    ...(auth ? { auth } : {}),
    async close() {
      clearInterval(reaper);
      await app.close();
      await pool.stop();
      await storage.close();
      await store.close();
    },
  };
}
