import type Database from 'better-sqlite3';
import type { AuthStore, ClientRecord, SigningKeyRecord } from '../auth-types.js';
import { toClient, toKey } from '../auth-rows.js';
import type { ClientRow, KeyRow } from '../auth-rows.js';

/** Auth tables in the SQLite file (migration 3 of schema.ts). Statements are prepared on first use. */
export class SqliteAuthStore implements AuthStore {
  constructor(private readonly db: Database.Database) {}

  async addClient(c: ClientRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO auth_client (id, name, jwks_url, jwks, scope, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(c.id, c.name, c.jwksUrl, c.jwks, c.scope, c.createdAt);
  }

  async getClient(id: string): Promise<ClientRecord | undefined> {
    const row = this.db.prepare(`SELECT * FROM auth_client WHERE id = ?`).get(id) as ClientRow | undefined;
    return row && toClient(row);
  }

  async listClients(): Promise<ClientRecord[]> {
    const rows = this.db.prepare(`SELECT * FROM auth_client ORDER BY created_at, id`).all() as ClientRow[];
    return rows.map(toClient);
  }

  async removeClient(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.db.prepare(`DELETE FROM auth_jti WHERE client_id = ?`).run(id);
      return this.db.prepare(`DELETE FROM auth_client WHERE id = ?`).run(id).changes === 1;
    })();
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = this.db
      .prepare(`SELECT * FROM auth_signing_key ORDER BY created_at DESC, kid DESC`)
      .all() as KeyRow[];
    return rows.map(toKey);
  }

  async addSigningKey(key: SigningKeyRecord, forgetRetiredBefore: number): Promise<void> {
    this.db
      .transaction(() => {
        this.db
          .prepare(`DELETE FROM auth_signing_key WHERE retired_at IS NOT NULL AND retired_at < ?`)
          .run(forgetRetiredBefore);
        this.db
          .prepare(`UPDATE auth_signing_key SET retired_at = ? WHERE retired_at IS NULL`)
          .run(key.createdAt);
        this.db
          .prepare(
            `INSERT INTO auth_signing_key (kid, alg, private_jwk, public_jwk, created_at, retired_at)
             VALUES (?, ?, ?, ?, ?, ?)`,
          )
          .run(key.kid, key.alg, key.privateJwk, key.publicJwk, key.createdAt, key.retiredAt);
      })
      .immediate();
  }

  async useJti(clientId: string, jti: string, expiresAt: number, now: number): Promise<boolean> {
    return this.db
      .transaction(() => {
        this.db.prepare(`DELETE FROM auth_jti WHERE expires_at < ?`).run(now);
        const inserted = this.db
          .prepare(`INSERT OR IGNORE INTO auth_jti (client_id, jti, expires_at) VALUES (?, ?, ?)`)
          .run(clientId, jti, expiresAt);
        return inserted.changes === 1;
      })
      .immediate();
  }
}
