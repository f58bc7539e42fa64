import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_AUTH_CONFIG, ServerKeys, generateClientKeys } from '../../auth/index.js';
import type { ClientKeyAlg } from '../../auth/index.js';
import { openStore } from '../../store/index.js';
import { loadDb } from '../config.js';

/** Files written by {@link writeClientKeys}. */
export interface WrittenKeys {
  kid: string;
  alg: ClientKeyAlg;
  privatePath: string;
  jwksPath: string;
}

/**
 * Generate a client key pair into `dir`: `private.jwk.json` (mode 0600, keep it secret) and `jwks.json`
 * (the public JWK Set to register or publish).
 */
export async function writeClientKeys(dir: string, alg: ClientKeyAlg, force = false): Promise<WrittenKeys> {
  const privatePath = join(dir, 'private.jwk.json');
  const jwksPath = join(dir, 'jwks.json');
  if (!force && existsSync(privatePath)) {
    throw new Error(`${privatePath} exists; pass --force to replace it`);
  }
  const keys = await generateClientKeys(alg);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(privatePath, `${JSON.stringify(keys.privateJwk, null, 2)}\n`, { mode: 0o600 });
  writeFileSync(jwksPath, `${JSON.stringify(keys.jwks, null, 2)}\n`);
  return { kid: keys.kid, alg, privatePath, jwksPath };
}

function parseAlg(value: string): ClientKeyAlg {
  if (value !== 'ES384' && value !== 'RS384') throw new Error(`--alg must be ES384 or RS384, got '${value}'`);
  return value;
}

/** `fhirhose keys`: client key pairs, and rotation of the server's token signing key. */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('SMART Backend Services keys');
  keys
    .command('generate')
    .description('generate a client key pair: a private JWK and the public JWKS to register')
    .requiredOption('--out <dir>', 'folder for private.jwk.json and jwks.json')
    .option('--alg <alg>', 'ES384 or RS384', parseAlg, 'ES384' as ClientKeyAlg)
    .option('--force', 'replace an existing key in that folder')
    .action(async (opts: { out: string; alg: ClientKeyAlg; force?: boolean }) => {
      const written = await writeClientKeys(opts.out, opts.alg, opts.force);
      console.log(`${written.alg} key ${written.kid}`);
      console.log(`  private key (keep secret): ${written.privatePath}`);
      console.log(`  public JWKS (register it): ${written.jwksPath}`);
    });
  keys
    .command('rotate-server')
    .description("replace the server's access-token signing key; tokens already issued stay valid")
    .option('--db <path-or-url>', 'SQLite database file or postgres:// URL (env FHIRHOSE_DB)')
    .action(async (opts: { db?: string }) => {
      const store = await openStore(loadDb(process.env, opts.db));
      try {
        const lifetime = DEFAULT_AUTH_CONFIG.tokenLifetimeSeconds + DEFAULT_AUTH_CONFIG.clockSkewSeconds;
        const kid = await new ServerKeys(store.auth, { maxTokenLifetimeMs: lifetime * 1000 }).rotate();
        console.log(`new server signing key ${kid}; running servers pick it up within a minute`);
      } finally {
        await store.close();
      }
    });
}
