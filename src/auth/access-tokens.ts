import { randomUUID } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { AuthenticationError } from '../fhir/index.js';
import type { AccessTokenVerifier, Grant } from './grant.js';
import { ScopeSet } from './scopes.js';
import type { ServerKeys } from './server-keys.js';
import { SERVER_TOKEN_ALG } from './server-keys.js';

/** Options of {@link LocalAccessTokens}. */
export interface LocalAccessTokensOptions {
  keys: ServerKeys;
  /** `iss` and `aud` of our tokens: the server's base URL. */
  issuer: string;
  lifetimeSeconds: number;
  now: () => number;
  /** False once a client is removed, so its tokens stop at once instead of at expiry. */
  isClientActive: (clientId: string) => Promise<boolean>;
}

/** RFC 9068 media type of JWT access tokens. */
const TOKEN_TYP = 'at+jwt';

/**
 * Access tokens this server issues: short-lived JWTs (RFC 9068 shape) signed by a key in the store,
 * carrying `client_id` and the granted `scope`.
 */
export class LocalAccessTokens implements AccessTokenVerifier {
  constructor(private readonly opts: LocalAccessTokensOptions) {}

  /** Sign a token for a client and its granted scope. */
  async issue(clientId: string, scope: string): Promise<{ accessToken: string; expiresIn: number }> {
    const { kid, key } = await this.opts.keys.signingKey();
    const iat = Math.floor(this.opts.now() / 1000);
    const accessToken = await new SignJWT({ client_id: clientId, scope })
      .setProtectedHeader({ alg: SERVER_TOKEN_ALG, kid, typ: TOKEN_TYP })
      .setIssuer(this.opts.issuer)
      .setAudience(this.opts.issuer)
      .setSubject(clientId)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.opts.lifetimeSeconds)
      .sign(key);
    return { accessToken, expiresIn: this.opts.lifetimeSeconds };
  }

  /**
   * Verify one of our tokens.
   * @throws AuthenticationError, with issue code `expired` when the token has expired
   */
  async verify(token: string): Promise<Grant> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch (err) {
      throw new AuthenticationError('access token is not a JWT', { cause: err });
    }
    const key = kid === undefined ? undefined : await this.opts.keys.verificationKey(kid);
    if (!key) throw new AuthenticationError('access token was not signed by this server');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [SERVER_TOKEN_ALG],
        issuer: this.opts.issuer,
        audience: this.opts.issuer,
        typ: TOKEN_TYP,
        requiredClaims: ['exp', 'client_id', 'scope'],
        currentDate: new Date(this.opts.now()),
      }));
    } catch (err) {
      throw tokenError(err);
    }
    const clientId = payload.client_id;
    if (typeof clientId !== 'string' || typeof payload.scope !== 'string') {
      throw new AuthenticationError('access token claims are malformed');
    }
    if (!(await this.opts.isClientActive(clientId))) {
      throw new AuthenticationError('the client of this access token is no longer registered');
    }
    return { clientId, scopes: ScopeSet.parse(payload.scope) };
  }
}

/** An AuthenticationError for a jose verification failure (also used for external tokens). */
export function tokenError(err: unknown): AuthenticationError {
  if (err instanceof errors.JWTExpired) {
    return new AuthenticationError('access token has expired', { expired: true, cause: err });
  }
  return new AuthenticationError('access token is not valid', { cause: err });
}
