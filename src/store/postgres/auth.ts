import type { PgDb } from './db.js';
import type { AuthStore, ClientRecord, SigningKeyRecord } from '../auth-types.js';
import { toClient, toKey } from '../auth-rows.js';
import type { ClientRow, KeyRow } from '../auth-rows.js';

// Any fixed number: the advisory lock that serializes signing-key rotation across processes.
const KEY_ROTATION_LOCK = 0x66686b79;

/** Auth tables in PostgreSQL (migration 3 of schema.ts). */
export class PgAuthStore implements AuthStore {
  constructor(private readonly db: PgDb) {}

  async addClient(c: ClientRecord): Promise<void> {
    await this.db.query(
      'INSERT INTO auth_client (id, name, jwks_url, jwks, scope, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [c.id, c.name, c.jwksUrl, c.jwks, c.scope, c.createdAt],
    );
  }

  async getClient(id: string): Promise<ClientRecord | undefined> {
    const { rows } = await this.db.query<ClientRow>('SELECT * FROM auth_client WHERE id = $1', [id]);
    return rows[0] && toClient(rows[0]);
  }

  async listClients(): Promise<ClientRecord[]> {
    const { rows } = await this.db.query<ClientRow>('SELECT * FROM auth_client ORDER BY created_at, id');
    return rows.map(toClient);
  }

  async removeClient(id: string): Promise<boolean> {
    return this.db.tx(async (c) => {
      await c.query('DELETE FROM auth_jti WHERE client_id = $1', [id]);
      const removed = await c.query('DELETE FROM auth_client WHERE id = $1', [id]);
      return removed.rowCount === 1;
    });
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const { rows } = await this.db.query<KeyRow>(
      'SELECT * FROM auth_signing_key ORDER BY created_at DESC, kid DESC',
    );
    return rows.map(toKey);
  }

  async addSigningKey(key: SigningKeyRecord, forgetRetiredBefore: number): Promise<void> {
    await this.db.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [KEY_ROTATION_LOCK]);
      await c.query('DELETE FROM auth_signing_key WHERE retired_at IS NOT NULL AND retired_at < $1', [
        forgetRetiredBefore,
      ]);
      await c.query('UPDATE auth_signing_key SET retired_at = $1 WHERE retired_at IS NULL', [key.createdAt]);
      await c.query(
        `INSERT INTO auth_signing_key (kid, alg, private_jwk, public_jwk, created_at, retired_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [key.kid, key.alg, key.privateJwk, key.publicJwk, key.createdAt, key.retiredAt],
      );
    });
  }

  async useJti(clientId: string, jti: string, expiresAt: number, now: number): Promise<boolean> {
    return this.db.tx(async (c) => {
      await c.query('DELETE FROM auth_jti WHERE expires_at < $1', [now]);
      const inserted = await c.query(
        'INSERT INTO auth_jti (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [clientId, jti, expiresAt],
      );
      return inserted.rowCount === 1;
    });
  }
}
