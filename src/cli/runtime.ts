import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createAuth } from '../auth/index.js';
import type { Auth } from '../auth/index.js';
import { ExportMonitor, ExportService, ViewExportService, WorkerPool } from '../export/index.js';
import {
  authCapability,
  authPlugins,
  buildServer,
  dashboardEnabled,
  dashboardRoutes,
  exportPlugins,
  exportCapability,
  viewPlugins,
  withViewCapability,
} from '../server/index.js';
import type { RoutePlugin } from '../server/index.js';
import { isPostgresUrl, openStore } from '../store/index.js';
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
  /** The dashboard's URL and whether it opens without a credential; absent when it is not served. */
  dashboard?: { url: string; open: boolean };
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
  /** Status polls held at once (`Prefer: wait`); default the service's. */
  maxHeldPolls?: number;
}

const REAP_INTERVAL_MS = 60_000;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * The dashboard: open without a credential only when nobody else can reach it (bound to loopback,
 * with a loopback base URL, so no proxy publishes it) and authorization is off; otherwise it needs an
 * admin token (auth on) or FHIRHOSE_DASHBOARD_PASSWORD, and with neither it is not served.
 */
function dashboardPlugin(
  config: ServeConfig,
  parts: {
    store: ResourceStore;
    service: ExportService;
    pool: WorkerPool;
    auth: Auth | undefined;
    describeStorage: string;
  },
): { plugin: RoutePlugin; enabled: boolean; open: boolean } {
  const { auth } = parts;
  const loopback = LOOPBACK_HOSTS.has(config.host) && LOOPBACK_HOSTS.has(new URL(config.baseUrl).hostname);
  const monitor = new ExportMonitor({
    jobs: parts.store.jobs,
    ...(auth ? { clients: () => auth.registry.list() } : {}),
  });
  const access = {
    open: loopback && !auth,
    ...(config.dashboardPassword !== undefined ? { password: config.dashboardPassword } : {}),
    ...(auth ? { verifier: auth.verifier } : {}),
  };
  const plugin = dashboardRoutes({
    monitor,
    service: parts.service,
    access,
    health: () => ({
      workerThreads: parts.pool.threads,
      storage: parts.describeStorage,
      database: isPostgresUrl(config.db) ? 'PostgreSQL' : 'SQLite',
    }),
  });
  return { plugin, enabled: dashboardEnabled(access), open: access.open };
}

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
  const storage = await createStorage(config.files.storage);
  // The pool starts after the service exists; until then no unit can finish.
  let unitDone: (jobId: string) => void = () => undefined;
  const pool = new WorkerPool({
    db: config.db,
    storage: config.files.storage,
    config: config.export,
    log,
    ...(deps.logLine ? { logLine: deps.logLine } : {}),
    onUnitDone: (jobId) => unitDone(jobId),
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
    ...(deps.maxHeldPolls !== undefined ? { maxHeldPolls: deps.maxHeldPolls } : {}),
    ...(config.files.downloads === 'presigned'
      ? { presignedUrlSeconds: config.files.presignedUrlSeconds }
      : {}),
  });
  unitDone = (jobId) => service.jobChanged(jobId);
  const viewExports = new ViewExportService({
    store,
    exports: service,
    config: config.export,
    log,
    wake: () => pool.wake(),
    fileUrl: (jobId, name) => `${config.baseUrl}/$viewdefinition-export-files/${jobId}/${name}`,
    ...(deps.exportNow ? { now: deps.exportNow } : {}),
  });
  const dashboard = dashboardPlugin(config, {
    store,
    service,
    pool,
    auth,
    describeStorage: storage.describe(),
  });
  const app = buildServer({
    store,
    baseUrl: config.baseUrl,
    logger: log,
    plugins: [
      ...(auth ? authPlugins(auth) : []),
      ...exportPlugins(service, config.kickoffLimits),
      dashboard.plugin,
      ...viewPlugins({
        exports: { service: viewExports, maxBodyBytes: config.kickoffLimits.maxBodyBytes },
      }),
    ],
    ...(dashboard.enabled
      ? { landingLinks: [{ path: '/dashboard', text: 'Export dashboard (operators)' }] }
      : {}),
    capability: withViewCapability({ ...exportCapability(), ...(auth ? authCapability(auth) : {}) }),
    ...(auth ? { auth: auth.verifier } : {}),
    ...(https ? { https } : {}),
  });
  pool.start();
  const reaper = setInterval(() => {
    service.reap().catch((err: unknown) => log.error({ err }, 'reaping expired exports failed'));
  }, REAP_INTERVAL_MS);
  reaper.unref();
  let closing: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    clearInterval(reaper);
    // Held status polls are answered first: the server's close waits for every open request.
    service.stopWaiting();
    await app.close();
    await pool.stop();
    await service.settled();
    await storage.close();
    await store.close();
  };
  return {
    app,
    store,
    service,
    pool,
    ...(auth ? { auth } : {}),
    ...(dashboard.enabled ? { dashboard: { url: `${config.baseUrl}/dashboard`, open: dashboard.open } } : {}),
    // Once: a test or a signal handler may ask again while the first close runs.
    close() {
      closing ??= stop();
      return closing;
    },
  };
}
