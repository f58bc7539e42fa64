// The resource store: one interface and its database implementations.
export type * from './types.js';
export { openSqliteStore, SqliteStore } from './sqlite/store.js';
export type { SqliteStoreOptions } from './sqlite/store.js';
export { describeProblem, listLoadable, loadPaths } from './loader.js';
export type { LoadOptions, LoadProblem, LoadReport } from './loader.js';
export { bundleOperations } from './bundle.js';
export type { BundleOp, BundlePlan } from './bundle.js';
export type * from './job-types.js';
export { SqliteJobStore } from './sqlite/jobs.js';
export type * from './auth-types.js';
export { SqliteAuthStore } from './sqlite/auth.js';
export { openStore, isPostgresUrl, redactDb } from './open-store.js';
export type { OpenStoreOptions } from './open-store.js';
// PostgreSQL is not re-exported here: importing 'pg' costs about 15 MiB of RSS in every thread that
// loads it, so a SQLite server loads it nowhere. Its entry is './postgres.js'.
export type { PostgresStore, PostgresStoreOptions } from './postgres/store.js';
export { NdjsonChunkFiller } from './ndjson-chunks.js';
