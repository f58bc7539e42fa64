import { decodeJwt, decodeProtectedHeader, errors, importJWK, jwtVerify } from 'jose';
import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { AuthStore } from '../store/index.js';
import type { Client, ClientRegistry } from './client-registry.js';
import { OAuthError } from './errors.js';
import type { Jwk, Jwks } from './jwks.js';
import { ASSERTION_ALGS, chooseKey } from './jwks.js';
import type { JwksCache } from './jwks-cache.js';
import { JwksFetchError } from './jwks-cache.js';

/** What verifying a client assertion needs. */
export interface AssertionDeps {
  registry: ClientRegistry;
  jwks: JwksCache;
  replay: Pick<AuthStore, 'useJti'>;
  /** The token endpoint URL: the only `aud` accepted. */
  tokenUrl: string;
  now: () => number;
  /** Clock skew allowed on `exp`, in seconds. */
  skewSeconds: number;
}

/** SMART 2.2: `exp` "no more than five minutes in the future". */
const MAX_ASSERTION_LIFETIME_S = 300;

const fail = (description: string, cause?: unknown): OAuthError =>
  new OAuthError('invalid_client', description, cause === undefined ? {} : { cause });

/**
 * Authenticate a client by its `private_key_jwt` assertion, per RFC 7523 §3 and SMART 2.2
 * (https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#authenticating-to-the-token-endpoint):
 * RS384 or ES384 only, the key chosen by `kid` and `kty`, `jku` only when it is the registered URL,
 * `iss` = `sub` = a registered client, `aud` = the token URL, `exp` at most 5 minutes ahead, and a
 * `jti` not used before by this client. `iat` and `nbf` are not required.
 * @throws OAuthError `invalid_client` for every failure, with a description of which check failed
 */
export async function verifyClientAssertion(assertion: string, deps: AssertionDeps): Promise<Client> {
  const header = readHeader(assertion);
  const claims = readClaims(assertion);
  const client = await deps.registry.get(claims.iss);
  if (!client) throw fail(`client_assertion iss '${claims.iss}' is not a registered client`);
  if (header.jku !== undefined && !sameUrl(header.jku, client.jwksUrl)) {
    throw fail('client_assertion jku is not the JWKS URL registered for this client');
  }
  const jwk = await resolveKey(client, header.alg, header.kid, deps.jwks);
  const payload = await verifySignedClaims(assertion, client, jwk, header.alg, deps);
  const now = deps.now() / 1000;
  const exp = payload.exp as number;
  if (exp - now > MAX_ASSERTION_LIFETIME_S + deps.skewSeconds) {
    throw fail('client_assertion exp is more than 5 minutes in the future');
  }
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti === '' || jti.length > 256) {
    throw fail('client_assertion jti must be a non-empty string');
  }
  // Kept until the assertion can no longer pass the exp check, skew included (the replay window).
  const until = (exp + deps.skewSeconds) * 1000;
  if (!(await deps.replay.useJti(client.id, jti, until, deps.now()))) {
    throw fail('client_assertion jti has already been used');
  }
  return client;
}

interface AssertionHeader {
  alg: string;
  kid: string;
  jku?: string;
}

function readHeader(assertion: string): AssertionHeader {
  let header: ProtectedHeaderParameters;
  try {
    if (assertion.split('.').length !== 3) throw new TypeError('not a compact JWS');
    header = decodeProtectedHeader(assertion);
  } catch (err) {
    throw fail('client_assertion is not a signed JWT', err);
  }
  const alg = header.alg ?? '';
  if (!(ASSERTION_ALGS as readonly string[]).includes(alg)) {
    throw fail(`client_assertion alg '${alg}' is not accepted; sign with RS384 or ES384`);
  }
  if (header.typ !== undefined && header.typ.toUpperCase() !== 'JWT') {
    throw fail(`client_assertion typ must be JWT, got '${header.typ}'`);
  }
  if (typeof header.kid !== 'string' || header.kid === '') throw fail('client_assertion header has no kid');
  if (header.jku !== undefined && typeof header.jku !== 'string') throw fail('client_assertion jku is bad');
  return header.jku === undefined ? { alg, kid: header.kid } : { alg, kid: header.kid, jku: header.jku };
}

function readClaims(assertion: string): { iss: string } {
  let claims: JWTPayload;
  try {
    claims = decodeJwt(assertion);
  } catch (err) {
    throw fail('client_assertion claims are not a JSON object', err);
  }
  if (typeof claims.iss !== 'string' || claims.iss === '') throw fail('client_assertion has no iss');
  if (claims.sub !== claims.iss) throw fail('client_assertion sub must equal iss (the client id)');
  return { iss: claims.iss };
}

function sameUrl(a: string, registered: string | undefined): boolean {
  if (registered === undefined) return false;
  try {
    return new URL(a).href === registered;
  } catch {
    return false;
  }
}

/** The one key for `kid`; a JWKS URL is fetched again (rate-limited) when the kid is new: key rotation. */
async function resolveKey(client: Client, alg: string, kid: string, cache: JwksCache): Promise<Jwk> {
  if (client.jwks) return pick(client.jwks, alg, kid);
  const url = client.jwksUrl as string;
  try {
    const jwks = await cache.get(url);
    const first = chooseKey(jwks, alg, kid);
    if ('problem' in first && first.problem === 'unknown') {
      const fresh = await cache.refresh(url);
      if (fresh) return pick(fresh, alg, kid);
    }
    return pick(jwks, alg, kid);
  } catch (err) {
    if (err instanceof JwksFetchError) throw fail(`the client's JWKS URL failed: ${err.message}`, err);
    throw err;
  }
}

function pick(jwks: Jwks, alg: string, kid: string): Jwk {
  const choice = chooseKey(jwks, alg, kid);
  if ('key' in choice) return choice.key;
  if (choice.problem === 'ambiguous') throw fail(`more than one ${alg} key has kid '${kid}'`);
  throw fail(`no ${alg} key with kid '${kid}' is registered for this client`);
}

async function verifySignedClaims(
  assertion: string,
  client: Client,
  jwk: Jwk,
  alg: string,
  deps: AssertionDeps,
): Promise<JWTPayload> {
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(jwk, alg);
  } catch (err) {
    throw fail(`the registered key '${jwk.kid}' cannot verify ${alg}`, err);
  }
  try {
    const { payload } = await jwtVerify(assertion, key, {
      algorithms: [alg],
      issuer: client.id,
      subject: client.id,
      audience: deps.tokenUrl,
      requiredClaims: ['exp', 'jti'],
      clockTolerance: deps.skewSeconds,
      currentDate: new Date(deps.now()),
    });
    return payload;
  } catch (err) {
    throw fail(describeJoseError(err, deps.tokenUrl), err);
  }
}

function describeJoseError(err: unknown, tokenUrl: string): string {
  if (err instanceof errors.JWTExpired) return 'client_assertion has expired';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'client_assertion signature is invalid';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return `client_assertion aud must be the token endpoint URL ${tokenUrl}`;
    return `client_assertion claim ${err.claim} is invalid: ${err.reason}`;
  }
  return 'client_assertion could not be verified';
}
