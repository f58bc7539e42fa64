import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import type { JWK } from 'jose';
import { BulkClientError, TokenRequestError } from './errors.js';
import type { EventListener } from './events.js';
import type { HttpSession, TokenProvider } from './http.js';

/** Settings for SMART Backend Services (https://hl7.org/fhir/smart-app-launch/backend-services.html). */
export interface SmartAuthOptions {
  clientId: string;
  /** The private key as a JWK with a `kid`: RSA for RS384, EC P-384 for ES384. */
  privateJwk: JWK;
  /** The FHIR base, for discovery at `[base]/.well-known/smart-configuration`. */
  fhirBaseUrl: string;
  /** The token endpoint; discovered when absent. */
  tokenUrl?: string;
  /** The scope to ask for. */
  scope?: string;
  onEvent?: EventListener;
}

/** The default scope: read and search on every type, SMART v1 syntax, which v2 servers also accept. */
export const DEFAULT_SCOPE = 'system/*.read';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The assertion lives under the 5-minute ceiling (SMART §12.3), with room for clock skew. */
const ASSERTION_SECONDS = 240;

/** The signing algorithm for a private JWK: its own `alg`, else RS384 for RSA and ES384 for EC. */
export function algorithmOf(jwk: JWK): string {
  if (typeof jwk.alg === 'string') return jwk.alg;
  if (jwk.kty === 'RSA') return 'RS384';
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384';
  throw new TypeError(`cannot choose an algorithm for a ${jwk.kty ?? 'kty-less'} key: set "alg"`);
}

/**
 * Read a private key from parsed JSON: a JWK, or a JWK Set whose first private key is taken.
 * @throws TypeError when no private key with a `kid` is found.
 */
export function privateJwkFrom(json: unknown): JWK {
  const keys = (json as { keys?: unknown }).keys;
  const candidates = (Array.isArray(keys) ? keys : [json]) as JWK[];
  const key = candidates.find((k) => typeof k === 'object' && k !== null && typeof k.d === 'string');
  if (!key) throw new TypeError('no private key (a JWK with "d") found');
  if (typeof key.kid !== 'string' || key.kid === '') throw new TypeError('the private key needs a "kid"');
  return key;
}

interface CachedToken {
  token: string;
  /** When to fetch a new one: before it expires, by a fifth of its life at most 30 s. */
  refreshAt: number;
}

/** A token provider that signs one-time client assertions and caches the access token until near expiry. */
export class SmartBackendAuth implements TokenProvider {
  private readonly options: SmartAuthOptions;
  private readonly http: HttpSession;
  private cached: CachedToken | undefined;
  private inflight: Promise<string> | undefined;
  private tokenUrl: string | undefined;

  /** `http` must carry no token provider: the token endpoint takes the assertion instead. */
  constructor(options: SmartAuthOptions, http: HttpSession) {
    this.options = options;
    this.http = http;
    this.tokenUrl = options.tokenUrl;
    algorithmOf(options.privateJwk);
  }

  async token(signal?: AbortSignal): Promise<string> {
    if (this.cached && this.http.clock.now() < this.cached.refreshAt) return this.cached.token;
    this.inflight ??= this.fetchToken(signal).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  /** The token endpoint, from the options or `.well-known/smart-configuration`. */
  async endpoint(signal?: AbortSignal): Promise<string> {
    if (this.tokenUrl) return this.tokenUrl;
    const url = `${this.options.fhirBaseUrl.replace(/\/+$/, '')}/.well-known/smart-configuration`;
    const res = await this.http.send({
      url,
      headers: { accept: 'application/json' },
      authorize: false,
      retry: 'all',
      ...(signal ? { signal } : {}),
    });
    const config = (await res.body.json()) as { token_endpoint?: unknown };
    if (typeof config.token_endpoint !== 'string' || !/^https?:\/\//.test(config.token_endpoint)) {
      throw new TokenRequestError(`${url} names no absolute token_endpoint`, { url });
    }
    this.tokenUrl = config.token_endpoint;
    return this.tokenUrl;
  }

  private async fetchToken(signal?: AbortSignal): Promise<string> {
    const tokenUrl = await this.endpoint(signal);
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: this.options.scope ?? DEFAULT_SCOPE,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await this.assertion(tokenUrl),
    });
    let res;
    try {
      // No retry: a resent assertion would reuse its jti, which the server must reject.
      res = await this.http.send({
        url: tokenUrl,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        authorize: false,
        retry: 'none',
        accept: () => true,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (err instanceof BulkClientError)
        throw new TokenRequestError(err.message, { url: tokenUrl, cause: err });
      throw err;
    }
    const body = (await res.body.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status !== 200 || typeof body.access_token !== 'string') {
      const reason = [body.error, body.error_description].filter((x) => typeof x === 'string').join(': ');
      throw new TokenRequestError(
        `token request to ${tokenUrl} answered ${res.status}${reason ? `: ${reason}` : ''}`,
        {
          status: res.status,
          url: tokenUrl,
        },
      );
    }
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300;
    const margin = Math.min(30_000, (expiresIn * 1000) / 5);
    this.cached = { token: body.access_token, refreshAt: this.http.clock.now() + expiresIn * 1000 - margin };
    this.options.onEvent?.({ kind: 'token', tokenUrl, expiresIn });
    return body.access_token;
  }

  private async assertion(tokenUrl: string): Promise<string> {
    const { privateJwk, clientId } = this.options;
    const alg = algorithmOf(privateJwk);
    const key = await importJWK(privateJwk, alg);
    const now = Math.floor(this.http.clock.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg, kid: privateJwk.kid as string, typ: 'JWT' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(tokenUrl)
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_SECONDS)
      .setJti(randomUUID())
      .sign(key);
  }
}

/** A fixed bearer token (for servers that hand out tokens another way). */
export class StaticToken implements TokenProvider {
  constructor(private readonly value: string) {}
  async token(): Promise<string> {
    return this.value;
  }
  invalidate(): void {
    // A fixed token cannot be renewed; the next 401 fails the request.
  }
}
