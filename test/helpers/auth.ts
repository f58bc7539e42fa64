import { randomBytes } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import type { Runtime } from '../../src/cli/runtime.js';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** A client signing key made for a test (never a real key). */
export interface TestKey {
  alg: 'ES384' | 'RS384';
  kid: string;
  privateKey: PrivateKey;
  publicJwk: JWK;
}

/** A fresh key pair; `kid` defaults to the RFC 7638 thumbprint. */
export async function makeKey(alg: 'ES384' | 'RS384' = 'ES384', kid?: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const id = kid ?? (await calculateJwkThumbprint(jwk));
  return { alg, kid: id, privateKey, publicJwk: { ...jwk, kid: id, alg } };
}

/** The public JWK Set of some test keys. */
export function jwksOf(...keys: TestKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.publicJwk) };
}

/** Parts of a client assertion a test may change. */
export interface AssertionOptions {
  iss: string;
  aud: string;
  /** Epoch ms; defaults to Date.now(). */
  now?: number;
  /** Seconds from now to `exp`; default 300 (what Inferno sends). */
  expIn?: number;
  sub?: string;
  jti?: string;
  /** Extra or replacement header members (kid, jku, typ...). */
  header?: Record<string, unknown>;
  /** Claims to drop. */
  omit?: string[];
}

/** Sign a SMART Backend Services client assertion the way Inferno builds it (no iat, no nbf). */
export async function signAssertion(key: TestKey, o: AssertionOptions): Promise<string> {
  const nowS = Math.floor((o.now ?? Date.now()) / 1000);
  const claims: Record<string, unknown> = {
    iss: o.iss,
    sub: o.sub ?? o.iss,
    aud: o.aud,
    exp: nowS + (o.expIn ?? 300),
    jti: o.jti ?? randomBytes(32).toString('hex'),
  };
  for (const name of o.omit ?? []) delete claims[name];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...o.header })
    .sign(key.privateKey);
}

/** The four form parameters of a token request, with the given assertion. */
export function tokenForm(assertion: string, scope = 'system/*.rs'): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    scope,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  };
}

/** A token endpoint answer. */
export interface TokenAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POST a form to the token endpoint. */
export async function postToken(tokenUrl: string, form: Record<string, string>): Promise<TokenAnswer> {
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** Register a client straight in the server's registry; resolves to its id. */
export async function registerClient(
  runtime: Runtime,
  keys: { jwks: unknown } | { jwksUrl: string },
  scope = 'system/*.rs',
): Promise<string> {
  if (!runtime.auth) throw new Error('the test server runs without auth');
  const client = await runtime.auth.registry.register({ name: 'test client', scope, ...keys });
  return client.id;
}

/** Get an access token for a client, failing the test if the server refuses. */
export async function getToken(
  tokenUrl: string,
  client: { id: string; key: TestKey },
  scope = 'system/*.rs',
  now?: number,
): Promise<string> {
  const assertion = await signAssertion(client.key, {
    iss: client.id,
    aud: tokenUrl,
    ...(now === undefined ? {} : { now }),
  });
  const answer = await postToken(tokenUrl, tokenForm(assertion, scope));
  if (answer.status !== 200) throw new Error(`token request failed: ${JSON.stringify(answer.body)}`);
  return answer.body.access_token as string;
}
