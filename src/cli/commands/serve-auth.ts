import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Auth } from '../../auth/index.js';
import type { ServeConfig } from '../config.js';
import { redactDb } from '../../store/index.js';
import { ConfigError } from '../config-error.js';
import { writeClientKeys } from './keys.js';

const DEMO_CLIENT_DIR = '.fhirhose/demo-client';
const DEMO_SCOPE = 'system/*.rs';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** `--demo` without `--auth` serves open data, so it may only listen on loopback. */
export function checkDemoHost(config: ServeConfig): void {
  if (!config.auth.enabled && !LOOPBACK_HOSTS.has(config.host)) {
    throw new ConfigError(`--demo without --auth listens on loopback only; drop --host ${config.host}`);
  }
}

/** The demo client: registered once, its key pair under .fhirhose/demo-client/, reused on later runs. */
export async function ensureDemoClient(auth: Auth): Promise<{ clientId: string; keyPath: string }> {
  const idPath = join(DEMO_CLIENT_DIR, 'client-id');
  const keyPath = join(DEMO_CLIENT_DIR, 'private.jwk.json');
  if (existsSync(idPath) && existsSync(keyPath)) {
    const clientId = readFileSync(idPath, 'utf8').trim();
    if (await auth.registry.get(clientId)) return { clientId, keyPath };
  }
  const keys = await writeClientKeys(DEMO_CLIENT_DIR, 'ES384', true);
  const client = await auth.registry.register({
    name: 'fhirhose demo client',
    jwks: JSON.parse(readFileSync(keys.jwksPath, 'utf8')) as unknown,
    scope: DEMO_SCOPE,
  });
  writeFileSync(idPath, `${client.id}\n`);
  return { clientId: client.id, keyPath };
}

/** What `serve` prints about authorization once it listens, through `say` (stdout or stderr). */
export async function printAuthStatus(
  config: ServeConfig,
  auth: Auth | undefined,
  demo: boolean,
  say: (line: string) => void = console.log,
): Promise<void> {
  if (!auth) {
    if (demo) say('Demo mode: authorization is off; the server listens on loopback only.');
    else {
      console.warn('WARNING: authorization is off (--no-auth): anyone who can reach this server can read');
      console.warn('         and export every record in it. Never run this way with real data.');
    }
    return;
  }
  say(`Authorization: SMART Backend Services; token endpoint ${auth.tokenUrl}`);
  if (!config.tls && !LOOPBACK_HOSTS.has(config.host)) {
    console.warn('WARNING: plain HTTP on a non-loopback address; use --tls-cert/--tls-key or a TLS proxy.');
  }
  if (demo) {
    const { clientId, keyPath } = await ensureDemoClient(auth);
    say(`Demo client id: ${clientId} (scope ${DEMO_SCOPE})`);
    say(`Demo client private key: ${keyPath}`);
    say('Try an export:');
    say(
      `  fhirhose export ${config.baseUrl} --client-id ${clientId} --key ${keyPath} --scope '${DEMO_SCOPE}' --out demo-export`,
    );
    return;
  }
  if (!auth.tokens) return;
  if ((await auth.registry.list()).length === 0) {
    say('No client is registered yet. Register one with:');
    say(
      `  fhirhose clients add --name NAME --jwks-url URL --scope 'system/*.rs' --db ${redactDb(config.db)}`,
    );
  }
}
