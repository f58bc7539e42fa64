import { DEFAULT_EXPORT_CONFIG } from '../export/index.js';
import type { ExportConfig, ExportReadPath, KickoffLimits } from '../export/index.js';
import type { AuthConfig } from '../auth/index.js';
import { isPostgresUrl, redactDb } from '../store/index.js';
import { loadAuthConfig, loadTlsConfig } from './auth-config.js';
import { ConfigError } from './config-error.js';
import type { AuthFlags, TlsConfig } from './auth-config.js';
import { DEFAULT_DB, DEFAULT_PORT } from './defaults.js';
import { loadKickoffLimits } from './limits-config.js';
import { logFormat } from './logger.js';
import type { LogFormat } from './logger.js';
import { loadStorageConfig } from './storage-config.js';
import type { FileStorageSettings, StorageFlags } from './storage-config.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Everything `fhirhose serve` needs, validated once at startup. */
export interface ServeConfig {
  /** A SQLite file path or a PostgreSQL URL (may hold a password: log it through `redactDb`). */
  db: string;
  /** Folder for export files when no S3 storage is configured. */
  exportDir: string;
  /** Where export files go (`exportDir` or S3) and how clients download them. */
  files: FileStorageSettings;
  host: string;
  port: number;
  /** Public base URL for every absolute link. */
  baseUrl: string;
  logLevel: string;
  /** Readable lines (`pretty`) or JSON lines; by default pretty on a terminal, else JSON. */
  logFormat: LogFormat;
  export: ExportConfig;
  /** Bounds on the size of each kick-off request. */
  kickoffLimits: Readonly<KickoffLimits>;
  auth: AuthConfig;
  /** HTTPS certificate and key; plain HTTP when absent. */
  tls?: TlsConfig;
  /** FHIRHOSE_DASHBOARD_PASSWORD: opens the dashboard with HTTP Basic (docs/dashboard.md). */
  dashboardPassword?: string;
}

/** Command-line options that override the environment. */
export interface ServeFlags extends AuthFlags, StorageFlags {
  db?: string;
  host?: string;
  port?: string | number;
  baseUrl?: string;
  /** Export worker threads; `false` is `--no-workers` (the API alone). */
  workers?: string | number | false;
  /** `--log-format`: `pretty` or `json`. */
  logFormat?: string;
}

export { ConfigError };

function logLevel(raw: string | undefined): string {
  const level = raw ?? 'info';
  if (!LOG_LEVELS.includes(level)) {
    throw new ConfigError(`FHIRHOSE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
  }
  return level;
}

function int(name: string, raw: string | number | undefined, fallback: number, min = 0): number {
  if (raw === undefined || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new ConfigError(`${name} must be an integer >= ${min}, got '${raw}'`);
  return n;
}

/**
 * The database a command uses: `--db`, else FHIRHOSE_DB (an empty one counts as unset), else the
 * default file; a PostgreSQL URL that does not parse fails here.
 */
export function loadDb(env: NodeJS.ProcessEnv, flag: string | undefined): string {
  const db = flag ?? (env.FHIRHOSE_DB || undefined) ?? DEFAULT_DB;
  if (db === '') throw new ConfigError('FHIRHOSE_DB (--db) must not be empty');
  if (isPostgresUrl(db) && !URL.canParse(db)) {
    throw new ConfigError(`FHIRHOSE_DB (--db) is not a valid PostgreSQL URL: '${redactDb(db)}'`);
  }
  return isPostgresUrl(db) ? withPgUser(env, db) : db;
}

/**
 * A PostgreSQL URL that names no user gets `PGUSER`, as libpq does; read here because only the CLI reads
 * the environment. The store fills in the operating-system user when neither names one.
 */
export function withPgUser(env: NodeJS.ProcessEnv, url: string): string {
  if (!env.PGUSER || !URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.username !== '') return url;
  parsed.username = encodeURIComponent(env.PGUSER);
  return parsed.href;
}

/**
 * The export folder: given, or beside a SQLite file. A PostgreSQL database has no file to put it beside,
 * and every API and worker process must name the same folder, so there it must be given.
 */
function exportDir(env: NodeJS.ProcessEnv, flag: string | undefined, db: string, s3: boolean): string {
  const dir = flag ?? env.FHIRHOSE_EXPORT_DIR;
  if (dir !== undefined && dir !== '') return dir;
  if (isPostgresUrl(db)) {
    // With S3 storage the folder is never used; every process names the bucket instead.
    if (s3) return '';
    throw new ConfigError(
      'FHIRHOSE_EXPORT_DIR (--export-dir) or FHIRHOSE_STORAGE (--storage) is required with a PostgreSQL ' +
        'database: give every server and worker the same folder or bucket',
    );
  }
  return `${db}.exports`;
}

const MIN_DASHBOARD_PASSWORD = 12;

/** The dashboard password, when set; a short one fails, as it would be guessed. */
function dashboardPassword(raw: string | undefined): { dashboardPassword?: string } {
  if (raw === undefined || raw === '') return {};
  if (raw.length < MIN_DASHBOARD_PASSWORD) {
    throw new ConfigError(
      `FHIRHOSE_DASHBOARD_PASSWORD must be at least ${MIN_DASHBOARD_PASSWORD} characters long`,
    );
  }
  return { dashboardPassword: raw };
}

const READ_PATHS: readonly ExportReadPath[] = ['auto', 'types', 'members'];

/** FHIRHOSE_EXPORT_READ_PATH: how Group and patient-list exports read the store. */
function readPath(raw: string | undefined, fallback: ExportReadPath): ExportReadPath {
  if (raw === undefined || raw === '') return fallback;
  if ((READ_PATHS as readonly string[]).includes(raw)) return raw as ExportReadPath;
  throw new ConfigError(`FHIRHOSE_EXPORT_READ_PATH must be one of ${READ_PATHS.join(', ')}, got '${raw}'`);
}

/** Read FHIRHOSE_* variables and flags into a frozen config. Flags win over the environment. */
export function loadServeConfig(env: NodeJS.ProcessEnv, flags: ServeFlags): Readonly<ServeConfig> {
  const db = loadDb(env, flags.db);
  const host = flags.host ?? env.FHIRHOSE_HOST ?? '127.0.0.1';
  const port = int('FHIRHOSE_PORT (--port)', flags.port ?? env.FHIRHOSE_PORT, DEFAULT_PORT);
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const tls = loadTlsConfig(env, flags);
  const scheme = tls ? 'https' : 'http';
  const baseUrl = (flags.baseUrl ?? env.FHIRHOSE_BASE_URL ?? `${scheme}://${shownHost}:${port}`).replace(
    /\/+$/,
    '',
  );
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new ConfigError(`FHIRHOSE_BASE_URL (--base-url) must be an absolute http(s) URL, got '${baseUrl}'`);
  }
  const d = DEFAULT_EXPORT_CONFIG;
  const exportConfig: ExportConfig = {
    ...d,
    workers: int(
      'FHIRHOSE_EXPORT_WORKERS (--workers)',
      flags.workers === false ? 0 : (flags.workers ?? env.FHIRHOSE_EXPORT_WORKERS),
      d.workers,
    ),
    leaseMs: int('FHIRHOSE_LEASE_SECONDS', env.FHIRHOSE_LEASE_SECONDS, d.leaseMs / 1000, 1) * 1000,
    fileMaxBytes: int('FHIRHOSE_FILE_MAX_BYTES', env.FHIRHOSE_FILE_MAX_BYTES, d.fileMaxBytes, 1024),
    rowsPerUnit: int('FHIRHOSE_ROWS_PER_UNIT', env.FHIRHOSE_ROWS_PER_UNIT, d.rowsPerUnit, 1),
    fileTtlMs: int('FHIRHOSE_FILE_TTL_SECONDS', env.FHIRHOSE_FILE_TTL_SECONDS, d.fileTtlMs / 1000, 1) * 1000,
    retryAfterSeconds: int(
      'FHIRHOSE_RETRY_AFTER_SECONDS',
      env.FHIRHOSE_RETRY_AFTER_SECONDS,
      d.retryAfterSeconds,
      1,
    ),
    maxQueuedJobsPerClient: int(
      'FHIRHOSE_MAX_QUEUED_JOBS',
      env.FHIRHOSE_MAX_QUEUED_JOBS,
      d.maxQueuedJobsPerClient,
      1,
    ),
    unitSliceMs:
      int('FHIRHOSE_UNIT_SLICE_SECONDS', env.FHIRHOSE_UNIT_SLICE_SECONDS, d.unitSliceMs / 1000, 1) * 1000,
    readPath: readPath(env.FHIRHOSE_EXPORT_READ_PATH, d.readPath),
    // Export threads (and `fhirhose worker` processes) resolve relative Attachment URLs against it.
    baseUrl,
  };
  exportConfig.heartbeatMs = Math.min(d.heartbeatMs, Math.floor(exportConfig.leaseMs / 3));
  const dir = exportDir(env, flags.exportDir, db, Boolean(flags.storage || env.FHIRHOSE_STORAGE));
  return Object.freeze({
    db,
    exportDir: dir,
    files: loadStorageConfig(env, flags, dir),
    host,
    port,
    baseUrl,
    logLevel: logLevel(env.FHIRHOSE_LOG_LEVEL),
    logFormat: logFormat(flags.logFormat ?? env.FHIRHOSE_LOG_FORMAT, process.stdout.isTTY === true),
    export: Object.freeze(exportConfig),
    kickoffLimits: loadKickoffLimits(env),
    auth: loadAuthConfig(env, flags),
    ...(tls ? { tls } : {}),
    ...dashboardPassword(env.FHIRHOSE_DASHBOARD_PASSWORD),
  });
}
