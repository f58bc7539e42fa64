// Row shapes of the auth tables and their mapping to records, shared by the SQLite and PostgreSQL auth stores.
import type { ClientRecord, SigningKeyRecord } from './auth-types.js';

/** A row of auth_client. */
export interface ClientRow {
  id: string;
  name: string;
  jwks_url: string | null;
  jwks: string | null;
  scope: string;
  created_at: number;
}

/** A row of auth_signing_key. */
export interface KeyRow {
  kid: string;
  alg: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number;
  retired_at: number | null;
}

/** An auth_client row as a record. */
export const toClient = (r: ClientRow): ClientRecord => ({
  id: r.id,
  name: r.name,
  jwksUrl: r.jwks_url,
  jwks: r.jwks,
  scope: r.scope,
  createdAt: r.created_at,
});

/** An auth_signing_key row as a record. */
export const toKey = (r: KeyRow): SigningKeyRecord => ({
  kid: r.kid,
  alg: r.alg,
  privateJwk: r.private_jwk,
  publicJwk: r.public_jwk,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
});
