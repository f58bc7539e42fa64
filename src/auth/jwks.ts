import { InvalidRequestError } from '../fhir/index.js';

/** A JSON Web Key as this server reads it (RFC 7517); other members are kept but unused. */
export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  crv?: string;
  [member: string]: unknown;
}

/** A JSON Web Key Set. */
export interface Jwks {
  keys: Jwk[];
}

/** Members that only a private or symmetric key has; a registered public JWKS must not carry them. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** The client assertion algorithms SMART Backend Services requires (SMART 2.2 §client-authentication). */
export const ASSERTION_ALGS = ['RS384', 'ES384'] as const;

/** The key type and curve an algorithm needs. */
const KEY_SHAPE: Readonly<Record<string, { kty: string; crv?: string }>> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validate a public JWK Set given at registration: each key has `kty` and `kid`, carries no private
 * members, and no two keys share a `kid` and `kty` (key choice would be ambiguous).
 * @throws InvalidRequestError naming what is wrong
 */
export function parsePublicJwks(value: unknown): Jwks {
  if (!isObject(value) || !Array.isArray(value.keys) || value.keys.length === 0) {
    throw new InvalidRequestError('a JWK Set is an object with a non-empty "keys" array');
  }
  const seen = new Set<string>();
  for (const key of value.keys as unknown[]) {
    if (!isObject(key) || typeof key.kty !== 'string' || typeof key.kid !== 'string' || key.kid === '') {
      throw new InvalidRequestError('every JWK needs "kty" and a non-empty "kid"');
    }
    if (PRIVATE_MEMBERS.some((m) => m in key)) {
      throw new InvalidRequestError(
        `JWK ${key.kid} holds private key material; register the public key only`,
      );
    }
    const id = `${key.kty}:${key.kid}`;
    if (seen.has(id)) throw new InvalidRequestError(`two ${key.kty} keys share kid ${key.kid}`);
    seen.add(id);
  }
  return value as unknown as Jwks;
}

/**
 * Read a JWK Set fetched from a URL leniently: keys without a `kid` or with private members are
 * dropped (they can never be chosen), the rest kept.
 * @throws TypeError when the document is not a JWK Set at all
 */
export function readFetchedJwks(value: unknown): Jwks {
  if (!isObject(value) || !Array.isArray(value.keys)) throw new TypeError('not a JWK Set');
  const keys = (value.keys as unknown[]).filter(
    (k): k is Jwk =>
      isObject(k) &&
      typeof k.kty === 'string' &&
      typeof k.kid === 'string' &&
      !PRIVATE_MEMBERS.some((m) => m in k),
  );
  return { keys };
}

/** Why no key was chosen. */
export type KeyChoice = { key: Jwk } | { problem: 'unknown' | 'ambiguous' };

/**
 * Choose the single key whose `kid` matches and whose type fits `alg` (SMART 2.2: "kid and kty").
 * A key that says it is for another algorithm, for encryption, or not for verifying is not a match.
 * @param kid - the JWS header `kid`; when undefined, a single key of the right type is chosen
 */
export function chooseKey(jwks: Jwks, alg: string, kid: string | undefined): KeyChoice {
  const shape = KEY_SHAPE[alg];
  if (!shape) return { problem: 'unknown' };
  const matches = jwks.keys.filter(
    (k) =>
      (kid === undefined || k.kid === kid) &&
      k.kty === shape.kty &&
      (shape.crv === undefined || k.crv === shape.crv) &&
      (k.alg === undefined || k.alg === alg) &&
      (k.use === undefined || k.use === 'sig') &&
      (k.key_ops === undefined || (Array.isArray(k.key_ops) && k.key_ops.includes('verify'))),
  );
  if (matches.length === 0) return { problem: 'unknown' };
  if (matches.length > 1) return { problem: 'ambiguous' };
  return { key: matches[0] as Jwk };
}

/** True for the signature algorithms `alg` this module can choose a key for (never `none` or HMAC). */
export function isAsymmetricAlg(alg: string): boolean {
  return alg in KEY_SHAPE;
}
