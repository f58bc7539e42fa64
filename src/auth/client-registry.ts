import { randomUUID } from 'node:crypto';
import { InvalidRequestError, NotFoundError } from '../fhir/index.js';
import type { AuthStore, ClientRecord } from '../store/index.js';
import type { Jwks } from './jwks.js';
import { parsePublicJwks } from './jwks.js';
import { parseScope } from './scopes.js';

/** A registered backend-services client. Exactly one of `jwksUrl` and `jwks` is set. */
export interface Client {
  id: string;
  name: string;
  jwksUrl?: string;
  jwks?: Jwks;
  /** Pre-authorized scopes, space-separated. */
  scope: string;
  createdAt: number;
}

/** What `register` needs. */
export interface NewClient {
  name: string;
  /** The client's JWKS URL (preferred by SMART 2.2). */
  jwksUrl?: string;
  /** An inline public JWK Set (allowed, discouraged by SMART 2.2). */
  jwks?: unknown;
  /** Pre-authorized system scopes, space-separated, e.g. `system/*.rs`. */
  scope: string;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The SMART Backend Services client registry (SMART 2.2 §registering-a-client): registration with a
 * JWKS URL or an inline JWKS, pre-authorized scopes, and lookup by client id.
 */
export class ClientRegistry {
  constructor(
    private readonly store: AuthStore,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Register a client and assign its id.
   * @throws InvalidRequestError for a missing name, a bad key source or an unsupported scope
   */
  async register(input: NewClient): Promise<Client> {
    const name = input.name.trim();
    if (name === '') throw new InvalidRequestError('a client needs a name', { expression: 'name' });
    if ((input.jwksUrl === undefined) === (input.jwks === undefined)) {
      throw new InvalidRequestError('give exactly one of a JWKS URL and an inline JWKS', {
        expression: 'jwks',
      });
    }
    const record: ClientRecord = {
      id: randomUUID(),
      name,
      jwksUrl: input.jwksUrl === undefined ? null : checkJwksUrl(input.jwksUrl),
      jwks: input.jwks === undefined ? null : JSON.stringify(parsePublicJwks(input.jwks)),
      scope: checkScope(input.scope),
      createdAt: this.now(),
    };
    await this.store.addClient(record);
    return toClient(record);
  }

  /** The client with this id, or undefined. */
  async get(id: string): Promise<Client | undefined> {
    const record = await this.store.getClient(id);
    return record && toClient(record);
  }

  /** Every registered client, oldest first. */
  async list(): Promise<Client[]> {
    return (await this.store.listClients()).map(toClient);
  }

  /**
   * Remove a client; its tokens stop working when they expire.
   * @throws NotFoundError for an unknown id
   */
  async remove(id: string): Promise<void> {
    if (!(await this.store.removeClient(id))) throw new NotFoundError(`no client ${id}`);
  }
}

function toClient(r: ClientRecord): Client {
  const client: Client = { id: r.id, name: r.name, scope: r.scope, createdAt: r.createdAt };
  if (r.jwksUrl !== null) client.jwksUrl = r.jwksUrl;
  if (r.jwks !== null) client.jwks = JSON.parse(r.jwks) as Jwks;
  return client;
}

/** JWKS URLs are served over TLS (SMART 2.2); plain http is allowed on loopback only, for local testing. */
function checkJwksUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidRequestError(`JWKS URL '${value}' is not an absolute URL`, { expression: 'jwksUrl' });
  }
  const ok = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
  if (!ok || url.username !== '' || url.password !== '') {
    throw new InvalidRequestError(`JWKS URL must be https (http only on loopback), got '${value}'`, {
      expression: 'jwksUrl',
    });
  }
  return url.href;
}

function checkScope(scope: string): string {
  const tokens = scope.split(/\s+/).filter((s) => s !== '');
  if (tokens.length === 0) throw new InvalidRequestError('a client needs at least one scope');
  for (const token of tokens) {
    const parsed = parseScope(token);
    if (parsed.kind === 'invalid') throw new InvalidRequestError(parsed.reason, { expression: 'scope' });
    if (parsed.kind === 'admin') continue;
    if (parsed.kind === 'other') {
      throw new InvalidRequestError(`scope '${token}' is not a system/ scope`, { expression: 'scope' });
    }
  }
  return tokens.join(' ');
}
