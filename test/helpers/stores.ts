import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openSqliteStore } from '../../src/store/index.js';
import { openPostgresStore, withDefaultUser } from '../../src/store/postgres.js';
import type { PostgresStore, SqliteStore } from '../../src/store/index.js';
import { makeObservation, makePatient } from './builders.js';

/** PostgreSQL for the store tests: `FHIRHOSE_TEST_PG_URL`, e.g. postgres://127.0.0.1:5432/test. */
export const PG_URL = process.env.FHIRHOSE_TEST_PG_URL;

/** A fresh, empty database of one backend, and how to remove it. */
export interface TestDatabase {
  /** What `openStore` takes: a SQLite file path or a PostgreSQL URL. */
  db: string;
  drop(): Promise<void>;
}

/** A store under test: the concrete classes, which also answer `rangeBoundaries`. */
export type TestStore = SqliteStore | PostgresStore;

/** One store implementation under test. */
export interface Backend {
  name: string;
  /** False, or why the backend's tests are skipped. */
  skip: string | false;
  /** A fresh empty database. */
  create(): Promise<TestDatabase>;
  /** Open a store on a database made by `create`. */
  open(db: string, options?: { now?: () => number }): Promise<TestStore>;
  /** Make a database from `create` empty again for the next test (cheaper than a new one); returns what to open. */
  empty(database: TestDatabase): Promise<string>;
}

// Tables in delete order; export_job cascades to its units, patients and refs.
const TABLES = [
  'resource',
  'resource_history',
  'tombstone',
  'compartment',
  'group_member',
  'group_search',
  'provenance_target',
  'export_job',
  'export_client_turn',
  'auth_jti',
  'auth_client',
  'auth_signing_key',
];

/** Delete every row of a schema made by `createSchema` (once the store has created its tables). */
async function emptySchema(db: string): Promise<void> {
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  try {
    const migrated = await c.query("SELECT to_regclass('schema_version') IS NOT NULL AS yes");
    if (migrated.rows[0]?.yes) await c.query(TABLES.map((t) => `DELETE FROM ${t};`).join(' '));
  } finally {
    await c.end();
  }
}

let sqliteFiles = 0;

/** A schema of its own on the test server, named at random so concurrent runs cannot collide. */
async function createSchema(url: string): Promise<TestDatabase> {
  const schema = `fhirhose_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const sep = url.includes('?') ? '&' : '?';
  return {
    db: `${url}${sep}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

/** SQLite always; PostgreSQL when FHIRHOSE_TEST_PG_URL is set. */
export function backends(): Backend[] {
  return [
    {
      name: 'SQLite',
      skip: false,
      async create() {
        const dir = mkdtempSync(join(tmpdir(), 'fhirhose-test-'));
        return { db: join(dir, 'store.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
      },
      async open(db, options = {}) {
        return openSqliteStore(db, options);
      },
      async empty(database) {
        sqliteFiles += 1;
        return join(database.db, '..', `store-${sqliteFiles}.db`);
      },
    },
    {
      name: 'PostgreSQL',
      skip: PG_URL ? false : 'FHIRHOSE_TEST_PG_URL is not set (e.g. postgres://127.0.0.1:5432/test)',
      create: () => createSchema(withDefaultUser(PG_URL!)),
      async open(db, options = {}) {
        return openPostgresStore(db, options);
      },
      async empty(database) {
        await emptySchema(database.db);
        return database.db;
      },
    },
  ];
}

/** A SQLite file in `dir` holding two Patients and an Observation, for tests of several processes; its path. */
export async function smallSqliteDb(dir: string): Promise<string> {
  const db = join(dir, 'shared.db');
  const store = openSqliteStore(db);
  await store.ingest([makePatient('p1'), makePatient('p2'), makeObservation('o1', 'p1')]);
  await store.close();
  return db;
}

/** A store on a fresh database of `backend`, closed and dropped after the test. */
export async function openFresh(
  backend: Backend,
  t: { after: (fn: () => Promise<void>) => void },
): Promise<TestStore> {
  const database = await backend.create();
  const store = await backend.open(database.db);
  t.after(async () => {
    await store.close();
    await database.drop();
  });
  return store;
}
