import { openSqliteStore } from './sqlite/store.js';
import type { ResourceStore } from './types.js';

/** Whether a `--db` value names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/**
 * A `--db` value fit for logs and messages: a PostgreSQL URL's password becomes `***`, and so does a
 * `password` query parameter. A SQLite path is returned as it is.
 */
export function redactDb(db: string): string {
  if (!isPostgresUrl(db)) return db;
  let url: URL;
  try {
    url = new URL(db);
  } catch {
    // An unparseable URL may still hold a password: show only its scheme.
    return `${db.slice(0, db.indexOf(':'))}://(invalid URL)`;
  }
  if (url.password !== '') url.password = '***';
  if (url.searchParams.has('password')) url.searchParams.set('password', '***');
  return url.href;
}

/**
 * Open the store a `--db` value names: a `postgres://` or `postgresql://` URL opens PostgreSQL, anything
 * else is the path of a SQLite file. Either is created and migrated if needed.
 * @param db a PostgreSQL connection URL or a SQLite file path
 * @throws StoreError when the database cannot be opened or migrated
 */
export async function openStore(db: string, options: OpenStoreOptions = {}): Promise<ResourceStore> {
  if (isPostgresUrl(db)) {
    // Imported on demand: see index.ts on the cost of 'pg' in every thread.
    const { openPostgresStore } = await import('./postgres/store.js');
    return openPostgresStore(db);
  }
  return openSqliteStore(
    db,
    options.pageCacheMiB !== undefined ? { pageCacheMiB: options.pageCacheMiB } : {},
  );
}

/** How to open a store. */
export interface OpenStoreOptions {
  /** SQLite page cache per connection, in MiB; PostgreSQL has its own shared buffers and ignores it. */
  pageCacheMiB?: number;
}
