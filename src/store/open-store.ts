import { openPostgresStore } from './postgres-store.js';
import { openSqliteStore } from './sqlite-store.js';
import type { ResourceStore } from './types.js';

/** Whether a `--db` value names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/**
 * Open the store a `--db` value names: a `postgres://` or `postgresql://` URL opens PostgreSQL, anything
 * else is the path of a SQLite file. Either is created and migrated if needed.
 * @param db a PostgreSQL connection URL or a SQLite file path
 * @throws StoreError when the database cannot be opened or migrated
 */
export async function openStore(db: string): Promise<ResourceStore> {
  return isPostgresUrl(db) ? openPostgresStore(db) : openSqliteStore(db);
}
