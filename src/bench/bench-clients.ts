import { ClientRegistry, generateClientKeys } from '../auth/index.js';
import type { ClientKeys } from '../auth/index.js';
import { DEFAULT_WAITS, HttpSession, SmartBackendAuth, systemClock } from '../client/index.js';
import { openStore } from '../store/index.js';
import type { Bearer } from './http.js';

/** A SMART Backend Services client registered in a bench store, with its private key. */
export interface BenchClient {
  id: string;
  name: string;
  privateJwk: ClientKeys['privateJwk'];
}

/** The scope every bench client is pre-authorized for and asks for: read and search on every type. */
export const BENCH_SCOPE = 'system/*.rs';

/**
 * Register `count` clients in the store at `db`, each with a key pair of its own, through the client
 * registry that `fhirhose clients add` uses. Call it while no server has the store open for writing.
 * @throws InvalidRequestError from the registry, StoreError when the store cannot be opened
 */
export async function registerClients(db: string, count: number): Promise<BenchClient[]> {
  const store = await openStore(db);
  try {
    const registry = new ClientRegistry(store.auth);
    const clients: BenchClient[] = [];
    for (let i = 1; i <= count; i++) {
      // ES384 keeps key generation fast; the server verifies one assertion per token, not per request.
      const keys = await generateClientKeys('ES384');
      const name = `fhirhose bench client ${i}`;
      const client = await registry.register({ name, jwks: keys.jwks, scope: BENCH_SCOPE });
      clients.push({ id: client.id, name, privateJwk: keys.privateJwk });
    }
    return clients;
  } finally {
    await store.close();
  }
}

/**
 * Remove the bench's clients from the store at `db`, so a kept `--dir` does not collect them.
 * @throws NotFoundError for a client that is no longer registered
 */
export async function removeClients(db: string, clients: readonly BenchClient[]): Promise<void> {
  const store = await openStore(db);
  try {
    const registry = new ClientRegistry(store.auth);
    for (const c of clients) await registry.remove(c.id);
  } finally {
    await store.close();
  }
}

/** One token source per client against one server, and the connection pool they share. */
export interface ClientTokens {
  /** In client order. */
  bearers: Bearer[];
  close(): Promise<void>;
}

/**
 * Token sources for the clients against the server at `baseUrl`, as our client library gets them:
 * discovery at `.well-known/smart-configuration`, a signed one-time assertion per token, and the
 * token cached until near its expiry.
 */
export function clientTokens(baseUrl: string, clients: readonly BenchClient[]): ClientTokens {
  const http = new HttpSession({ waits: DEFAULT_WAITS, clock: systemClock });
  const bearers = clients.map((c) => {
    const auth = new SmartBackendAuth(
      { clientId: c.id, privateJwk: c.privateJwk, fhirBaseUrl: baseUrl, scope: BENCH_SCOPE },
      http,
    );
    return (): Promise<string> => auth.token();
  });
  return { bearers, close: () => http.close() };
}
