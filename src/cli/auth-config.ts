import { existsSync } from 'node:fs';
import { DEFAULT_AUTH_CONFIG } from '../auth/index.js';
import type { AuthConfig, ExternalIssuerConfig } from '../auth/index.js';
import { ConfigError } from './config-error.js';
import { intInRange } from './int-setting.js';

/** Auth and TLS flags of `fhirhose serve` (each also has a FHIRHOSE_* variable). */
export interface AuthFlags {
  /** `--auth` / `--no-auth`; undefined when neither was given. */
  auth?: boolean;
  authIssuer?: string;
  authIssuerJwksUrl?: string;
  authIssuerTokenUrl?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** PEM files for HTTPS. */
export interface TlsConfig {
  certPath: string;
  keyPath: string;
}

function onOff(name: string, raw: string | undefined): boolean | undefined {
  if (raw === undefined || raw === '') return undefined;
  const v = raw.toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(v)) return true;
  if (['off', 'false', '0', 'no'].includes(v)) return false;
  throw new ConfigError(`${name} must be on or off, got '${raw}'`);
}

function absoluteUrl(name: string, raw: string | undefined): string {
  try {
    const url = new URL(raw ?? '');
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.href.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  throw new ConfigError(`${name} must be an absolute http(s) URL, got '${raw ?? ''}'`);
}

function external(env: NodeJS.ProcessEnv, flags: AuthFlags): ExternalIssuerConfig | undefined {
  const issuer = flags.authIssuer ?? env.FHIRHOSE_AUTH_ISSUER;
  if (issuer === undefined || issuer === '') return undefined;
  const config: ExternalIssuerConfig = {
    issuer,
    jwksUrl: absoluteUrl(
      'FHIRHOSE_AUTH_ISSUER_JWKS_URL (--auth-issuer-jwks-url)',
      flags.authIssuerJwksUrl ?? env.FHIRHOSE_AUTH_ISSUER_JWKS_URL,
    ),
    tokenUrl: absoluteUrl(
      'FHIRHOSE_AUTH_ISSUER_TOKEN_URL (--auth-issuer-token-url)',
      flags.authIssuerTokenUrl ?? env.FHIRHOSE_AUTH_ISSUER_TOKEN_URL,
    ),
  };
  if (env.FHIRHOSE_AUTH_AUDIENCE) config.audience = env.FHIRHOSE_AUTH_AUDIENCE;
  return config;
}

/** Read the authorization settings; auth is on unless `--no-auth` or FHIRHOSE_AUTH=off. */
export function loadAuthConfig(env: NodeJS.ProcessEnv, flags: AuthFlags): Readonly<AuthConfig> {
  const d = DEFAULT_AUTH_CONFIG;
  const config: AuthConfig = {
    enabled: flags.auth ?? onOff('FHIRHOSE_AUTH (--auth/--no-auth)', env.FHIRHOSE_AUTH) ?? d.enabled,
    tokenLifetimeSeconds: intInRange(
      'FHIRHOSE_TOKEN_LIFETIME_SECONDS',
      env.FHIRHOSE_TOKEN_LIFETIME_SECONDS,
      d.tokenLifetimeSeconds,
      { min: 1, max: 86_400 },
    ),
    clockSkewSeconds: intInRange(
      'FHIRHOSE_AUTH_CLOCK_SKEW_SECONDS',
      env.FHIRHOSE_AUTH_CLOCK_SKEW_SECONDS,
      d.clockSkewSeconds,
      { min: 0, max: 300 },
    ),
  };
  const ext = external(env, flags);
  if (ext) config.external = Object.freeze(ext);
  return Object.freeze(config);
}

/** Read the TLS settings: both files or neither. */
export function loadTlsConfig(env: NodeJS.ProcessEnv, flags: AuthFlags): TlsConfig | undefined {
  const certPath = flags.tlsCert ?? env.FHIRHOSE_TLS_CERT;
  const keyPath = flags.tlsKey ?? env.FHIRHOSE_TLS_KEY;
  if (!certPath && !keyPath) return undefined;
  if (!certPath || !keyPath) {
    throw new ConfigError('FHIRHOSE_TLS_CERT (--tls-cert) and FHIRHOSE_TLS_KEY (--tls-key) go together');
  }
  for (const [name, path] of [
    ['FHIRHOSE_TLS_CERT (--tls-cert)', certPath],
    ['FHIRHOSE_TLS_KEY (--tls-key)', keyPath],
  ] as const) {
    if (!existsSync(path)) throw new ConfigError(`${name}: no file at '${path}'`);
  }
  return Object.freeze({ certPath, keyPath });
}
