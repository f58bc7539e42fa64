import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { AuthenticationError } from '../fhir/index.js';
import { tokenError } from './access-tokens.js';
import type { AccessTokenVerifier, Grant } from './grant.js';
import { chooseKey, isAsymmetricAlg } from './jwks.js';
import type { JwksCache } from './jwks-cache.js';
import { JwksFetchError } from './jwks-cache.js';
import { ScopeSet } from './scopes.js';

/** An authorization server this resource server trusts instead of issuing its own tokens. */
export interface ExternalIssuerOptions {
  /** Expected `iss`. */
  issuer: string;
  /** Where the issuer publishes its signing keys. */
  jwksUrl: string;
  /** Expected `aud`: usually the FHIR base URL. */
  audience: string;
  jwks: JwksCache;
  now: () => number;
  /** Clock skew allowed on `exp` and `nbf`, in seconds. */
  skewSeconds: number;
}

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/**
 * Verifies JWT access tokens from an external issuer (RFC 9068): asymmetric signatures only, keys from
 * the issuer's JWKS URL (re-fetched on an unknown `kid`), the client from `client_id` (or `azp`, then
 * `sub`), scopes from `scope` (or an `scp` array).
 */
export class ExternalIssuerTokens implements AccessTokenVerifier {
  constructor(private readonly opts: ExternalIssuerOptions) {}

  async verify(token: string): Promise<Grant> {
    let header: { alg?: string; kid?: string };
    try {
      header = decodeProtectedHeader(token);
    } catch (err) {
      throw new AuthenticationError('access token is not a JWT', { cause: err });
    }
    const alg = header.alg ?? '';
    if (!ALGORITHMS.includes(alg) || !isAsymmetricAlg(alg)) {
      throw new AuthenticationError(`access token alg '${alg}' is not accepted`);
    }
    const key = await importJWK(await this.keyFor(alg, header.kid), alg);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [alg],
        issuer: this.opts.issuer,
        audience: this.opts.audience,
        requiredClaims: ['exp'],
        clockTolerance: this.opts.skewSeconds,
        currentDate: new Date(this.opts.now()),
      }));
    } catch (err) {
      throw tokenError(err);
    }
    const clientId = [payload.client_id, payload.azp, payload.sub].find((v) => typeof v === 'string');
    if (typeof clientId !== 'string') throw new AuthenticationError('access token names no client');
    const scope = Array.isArray(payload.scp) ? payload.scp.join(' ') : payload.scope;
    return { clientId, scopes: ScopeSet.parse(typeof scope === 'string' ? scope : '') };
  }

  private async keyFor(alg: string, kid: string | undefined) {
    try {
      let choice = chooseKey(await this.opts.jwks.get(this.opts.jwksUrl), alg, kid);
      if ('problem' in choice && choice.problem === 'unknown') {
        const fresh = await this.opts.jwks.refresh(this.opts.jwksUrl);
        if (fresh) choice = chooseKey(fresh, alg, kid);
      }
      if ('key' in choice) return choice.key;
    } catch (err) {
      if (!(err instanceof JwksFetchError)) throw err;
      throw new AuthenticationError('the issuer keys could not be fetched', { cause: err });
    }
    throw new AuthenticationError('access token was not signed by a key of the trusted issuer');
  }
}
