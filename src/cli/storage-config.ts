import type { S3StorageConfig, StorageConfig } from '../storage/index.js';
import { ConfigError } from './config-error.js';

/** How clients fetch export files. */
export type DownloadMode = 'server' | 'presigned';

/** Where export files go and how clients download them. */
export interface FileStorageSettings {
  storage: StorageConfig;
  downloads: DownloadMode;
  /** Lifetime of pre-signed URLs (used with `downloads: 'presigned'`). */
  presignedUrlSeconds: number;
}

/** Storage flags of `serve` and `worker` (each also has a FHIRHOSE_* variable). */
export interface StorageFlags {
  exportDir?: string;
  /** `s3://bucket/prefix`. */
  storage?: string;
  downloadMode?: string;
}

/** Matches the token lifetime: Bulk IG F2 ties capability URLs to bearer token expiry. */
const DEFAULT_PRESIGNED_SECONDS = 300;
/** The longest a SigV4 pre-signed URL may live. */
const MAX_PRESIGNED_SECONDS = 7 * 24 * 3600;
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_RE = /^[A-Za-z0-9!_.*'()/-]*$/;

function s3Url(raw: string): { bucket: string; prefix: string } {
  const name = 'FHIRHOSE_STORAGE (--storage)';
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(raw);
  if (!m) {
    throw new ConfigError(
      `${name} must be s3://bucket/prefix (leave it unset for FHIRHOSE_EXPORT_DIR), got '${raw}'`,
    );
  }
  const bucket = m[1] as string;
  const prefix = (m[2] as string).replace(/^\/+|\/+$/g, '');
  if (!BUCKET_RE.test(bucket)) throw new ConfigError(`${name}: '${bucket}' is not a valid bucket name`);
  const parts = prefix === '' ? [] : prefix.split('/');
  if (!PREFIX_RE.test(prefix) || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new ConfigError(`${name}: unsafe key prefix '${prefix}'`);
  }
  return { bucket, prefix: prefix === '' ? '' : `${prefix}/` };
}

function onOff(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  const v = raw.toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(v)) return true;
  if (['off', 'false', '0', 'no'].includes(v)) return false;
  throw new ConfigError(`${name} must be on or off, got '${raw}'`);
}

function s3Config(env: NodeJS.ProcessEnv, raw: string): S3StorageConfig {
  const { bucket, prefix } = s3Url(raw);
  const endpoint = env.FHIRHOSE_S3_ENDPOINT || undefined;
  if (endpoint !== undefined) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(endpoint).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new ConfigError(`FHIRHOSE_S3_ENDPOINT must be an absolute http(s) URL, got '${endpoint}'`);
  }
  const config: S3StorageConfig = {
    kind: 's3',
    bucket,
    prefix,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    // S3-compatible servers rarely resolve bucket subdomains; AWS itself prefers virtual hosts.
    forcePathStyle: onOff('FHIRHOSE_S3_PATH_STYLE', env.FHIRHOSE_S3_PATH_STYLE, endpoint !== undefined),
    ...(endpoint ? { endpoint } : {}),
  };
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  if (Boolean(id) !== Boolean(secret)) {
    throw new ConfigError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
  }
  if (id && secret) {
    config.credentials = {
      accessKeyId: id,
      secretAccessKey: secret,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  }
  return config;
}

/** Read the storage and download settings; the local folder `exportDir` is the default storage. */
export function loadStorageConfig(
  env: NodeJS.ProcessEnv,
  flags: StorageFlags,
  exportDir: string,
): FileStorageSettings {
  const url = flags.storage ?? env.FHIRHOSE_STORAGE;
  const storage: StorageConfig = url ? s3Config(env, url) : { kind: 'local', root: exportDir };
  const mode = flags.downloadMode ?? env.FHIRHOSE_DOWNLOAD_MODE ?? 'server';
  if (mode !== 'server' && mode !== 'presigned') {
    throw new ConfigError(
      `FHIRHOSE_DOWNLOAD_MODE (--download-mode) must be server or presigned, got '${mode}'`,
    );
  }
  if (mode === 'presigned' && storage.kind !== 's3') {
    throw new ConfigError('FHIRHOSE_DOWNLOAD_MODE=presigned needs S3 storage (FHIRHOSE_STORAGE=s3://...)');
  }
  const raw = env.FHIRHOSE_PRESIGNED_URL_SECONDS;
  const seconds = raw === undefined || raw === '' ? DEFAULT_PRESIGNED_SECONDS : Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGNED_SECONDS) {
    throw new ConfigError(
      `FHIRHOSE_PRESIGNED_URL_SECONDS must be an integer from 1 to ${MAX_PRESIGNED_SECONDS}, got '${raw}'`,
    );
  }
  return { storage, downloads: mode, presignedUrlSeconds: seconds };
}

/** Where files go, for logs and messages: a folder or `s3://bucket/prefix`, never a credential. */
export function describeStorage(storage: StorageConfig): string {
  return storage.kind === 's3' ? `s3://${storage.bucket}/${storage.prefix}` : storage.root;
}
