import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';

/** The key algorithms a backend client signs its assertions with (SMART 2.2 requires both). */
export type ClientKeyAlg = 'ES384' | 'RS384';

/** A client key pair as JWKs: the private key to keep, the public JWKS to register. */
export interface ClientKeys {
  kid: string;
  privateJwk: JWK;
  jwks: { keys: JWK[] };
}

/**
 * Generate a client key pair for SMART Backend Services. The `kid` is the RFC 7638 thumbprint.
 * @param alg - ES384 (P-384) or RS384 (RSA 2048)
 */
export async function generateClientKeys(alg: ClientKeyAlg): Promise<ClientKeys> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg },
    jwks: { keys: [{ ...publicJwk, kid, alg, use: 'sig', key_ops: ['verify'] }] },
  };
}
