import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ADMIN_SCOPE, ClientRegistry } from '../../auth/index.js';
import type { Client } from '../../auth/index.js';
import { openStore } from '../../store/index.js';
import { loadDb } from '../config.js';

interface DbFlag {
  db?: string;
}

interface AddFlags extends DbFlag {
  name: string;
  jwksUrl?: string;
  jwksFile?: string;
  scope: string;
  admin?: boolean;
}

/** Run `fn` on the client registry of the database named by `--db`, FHIRHOSE_DB or the default. */
async function withRegistry<T>(opts: DbFlag, fn: (registry: ClientRegistry) => Promise<T>): Promise<T> {
  const store = await openStore(loadDb(process.env, opts.db));
  try {
    return await fn(new ClientRegistry(store.auth));
  } finally {
    await store.close();
  }
}

function readJwksFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (err) {
    throw new Error(`--jwks-file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const describeKeys = (c: Client): string =>
  c.jwksUrl ?? `inline JWKS (${c.jwks?.keys.length ?? 0} key${c.jwks?.keys.length === 1 ? '' : 's'})`;

/** `fhirhose clients`: the SMART Backend Services client registry. */
export function registerClients(program: Command): void {
  const clients = program.command('clients').description('SMART Backend Services client registry');
  clients
    .command('add')
    .description('register a client by its JWKS URL (preferred) or a JWKS file; prints its client id')
    .requiredOption('--name <name>', 'a name for people')
    .option('--jwks-url <url>', 'where the client publishes its public keys (https; http on loopback)')
    .option('--jwks-file <file>', 'a public JWK Set file, stored inline')
    .option('--scope <scopes>', 'pre-authorized system scopes, space-separated', 'system/*.rs')
    .option('--admin', `also grant ${ADMIN_SCOPE}: an operator of the dashboard (docs/dashboard.md)`)
    .option('--db <path-or-url>', 'SQLite database file or postgres:// URL (env FHIRHOSE_DB)')
    .action(async (opts: AddFlags) => {
      if ((opts.jwksUrl === undefined) === (opts.jwksFile === undefined)) {
        throw new Error('give exactly one of --jwks-url and --jwks-file');
      }
      const client = await withRegistry(opts, (registry) =>
        registry.register({
          name: opts.name,
          scope: opts.admin ? `${opts.scope} ${ADMIN_SCOPE}` : opts.scope,
          ...(opts.jwksUrl !== undefined ? { jwksUrl: opts.jwksUrl } : {}),
          ...(opts.jwksFile !== undefined ? { jwks: readJwksFile(opts.jwksFile) } : {}),
        }),
      );
      if (client.jwks) {
        console.error('note: inline keys must be re-registered to rotate; a JWKS URL lets the client rotate');
      }
      console.log(client.id);
    });
  clients
    .command('list')
    .description('list registered clients')
    .option('--db <path-or-url>', 'SQLite database file or postgres:// URL (env FHIRHOSE_DB)')
    .option('--json', 'one JSON object per line')
    .action(async (opts: DbFlag & { json?: boolean }) => {
      const list = await withRegistry(opts, (registry) => registry.list());
      for (const c of list) {
        if (opts.json) console.log(JSON.stringify(c));
        else console.log(`${c.id}  ${c.name}  [${c.scope}]  ${describeKeys(c)}`);
      }
      if (list.length === 0 && !opts.json) console.error('no clients registered');
    });
  clients
    .command('remove')
    .description('remove a client; its access tokens stop working at once')
    .argument('<client-id>')
    .option('--db <path-or-url>', 'SQLite database file or postgres:// URL (env FHIRHOSE_DB)')
    .action(async (id: string, opts: DbFlag) => {
      await withRegistry(opts, (registry) => registry.remove(id));
      console.log(`removed ${id}`);
    });
}
