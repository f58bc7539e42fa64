import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './config-error.js';

/** The scope a client asks for when none is given: what `fhirhose clients add` grants by default. */
export const DEFAULT_CLIENT_SCOPE = 'system/*.rs';

/** SMART Backend Services credentials of `export` and `sync`, from flags, environment or a file. */
export interface ClientCredentials {
  clientId?: string;
  /** Path of the private JWK (or JWK Set) file. */
  keyPath?: string;
  tokenUrl?: string;
  scope: string;
}

/** What the flags may give; each wins over the environment, which wins over `--config`. */
export interface CredentialFlags {
  clientId?: string;
  key?: string;
  tokenUrl?: string;
  scope?: string;
  config?: string;
}

const FILE_KEYS = ['clientId', 'key', 'tokenUrl', 'scope'] as const;

/**
 * Resolve the credentials: flag, then FHIRHOSE_CLIENT_ID / FHIRHOSE_CLIENT_KEY / FHIRHOSE_TOKEN_URL /
 * FHIRHOSE_SCOPE, then the `--config` JSON file (`{"clientId", "key", "tokenUrl", "scope"}`, `key`
 * relative to the file), so a secret need not be typed on every command line.
 * @throws ConfigError for an unreadable or malformed config file, or a client id without a key (or the reverse)
 */
export function clientCredentials(
  flags: CredentialFlags,
  env: Record<string, string | undefined>,
): ClientCredentials {
  const file = flags.config ? readConfigFile(flags.config) : {};
  const pick = (
    flag: string | undefined,
    envName: string,
    fromFile: string | undefined,
  ): string | undefined => flag ?? (env[envName] || undefined) ?? fromFile;
  const clientId = pick(flags.clientId, 'FHIRHOSE_CLIENT_ID', file.clientId);
  const keyPath = pick(flags.key, 'FHIRHOSE_CLIENT_KEY', file.key);
  const tokenUrl = pick(flags.tokenUrl, 'FHIRHOSE_TOKEN_URL', file.tokenUrl);
  const scope = pick(flags.scope, 'FHIRHOSE_SCOPE', file.scope) ?? DEFAULT_CLIENT_SCOPE;
  if ((clientId === undefined) !== (keyPath === undefined)) {
    throw new ConfigError(
      clientId === undefined
        ? 'a private key was given without a client id: add --client-id (or FHIRHOSE_CLIENT_ID)'
        : 'a client id was given without its private key: add --key FILE (or FHIRHOSE_CLIENT_KEY)',
    );
  }
  return {
    scope,
    ...(clientId !== undefined ? { clientId } : {}),
    ...(keyPath !== undefined ? { keyPath } : {}),
    ...(tokenUrl !== undefined ? { tokenUrl } : {}),
  };
}

function readConfigFile(path: string): Partial<Record<(typeof FILE_KEYS)[number], string>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(
      `--config ${path}: ${(err as Error).message}; give a JSON file with clientId, key, scope`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`--config ${path}: expected a JSON object with clientId, key, tokenUrl, scope`);
  }
  const out: Partial<Record<(typeof FILE_KEYS)[number], string>> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!(FILE_KEYS as readonly string[]).includes(name)) {
      throw new ConfigError(`--config ${path}: unknown field '${name}' (known: ${FILE_KEYS.join(', ')})`);
    }
    if (typeof value !== 'string') throw new ConfigError(`--config ${path}: '${name}' must be a string`);
    out[name as (typeof FILE_KEYS)[number]] = value;
  }
  // A key path in the file is relative to the file, so the file works from any working folder.
  if (out.key !== undefined) out.key = resolve(dirname(path), out.key);
  return out;
}

/** The private key file's JSON, with a message naming the file when it cannot be read. */
export function readKeyFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(
      `private key ${path}: ${(err as Error).message}; give a JWK or JWK Set file (fhirhose keys generate makes one)`,
    );
  }
}
