// The PostgreSQL store's entry, apart from index.ts so that SQLite users never load 'pg'.
export { openPostgresStore, PostgresStore } from './postgres/store.js';
export type { PostgresStoreOptions } from './postgres/store.js';
export { withDefaultUser } from './postgres/db.js';
