import type { PoolClient } from 'pg';
import type { FhirResource } from '../../fhir/index.js';
import type { PgDb } from './db.js';
import { indexEntries } from '../prepared-row.js';

// The tables of ../sqlite/schema.ts, in PostgreSQL. Each entry migrates from version = index to
// index + 1. Append only; never edit a shipped one. Text columns that are compared or ordered use the
// "C" collation, so keyset order is byte order on every database, as in SQLite.
// A function entry runs in the migration's transaction, for a step that needs more than SQL.
const MIGRATIONS: (string | ((client: PoolClient) => Promise<void>))[] = [
  `
  -- The write clock: every write transaction takes the next instant here, holding the row lock to commit.
  CREATE TABLE clock (one boolean PRIMARY KEY DEFAULT true CHECK (one), last bigint NOT NULL);
  INSERT INTO clock (last) VALUES (0);
  CREATE SEQUENCE resource_rid_seq;
  CREATE TABLE resource (
    rid bigint PRIMARY KEY DEFAULT nextval('resource_rid_seq'),
    type text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    last_updated bigint NOT NULL,
    hash text NOT NULL,
    json text NOT NULL,
    UNIQUE (type, id)
  );
  ALTER SEQUENCE resource_rid_seq OWNED BY resource.rid;
  CREATE INDEX resource_scan ON resource (type, last_updated, id);
  -- Superseded versions; the version current at T has last_updated <= T < ended.
  CREATE TABLE resource_history (
    type text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    last_updated bigint NOT NULL,
    ended bigint NOT NULL,
    json text NOT NULL,
    PRIMARY KEY (type, id, version)
  );
  CREATE INDEX history_ended ON resource_history (type, ended);
  CREATE TABLE tombstone (
    type text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    deleted_at bigint NOT NULL,
    PRIMARY KEY (type, id, version)
  );
  CREATE INDEX tombstone_time ON tombstone (type, deleted_at);
  -- Patient compartment of current versions, keyed by the resource's row id.
  CREATE TABLE compartment (
    patient_id text COLLATE "C" NOT NULL,
    rid bigint NOT NULL,
    param text NOT NULL,
    PRIMARY KEY (patient_id, rid, param)
  );
  CREATE INDEX compartment_rid ON compartment (rid);
  CREATE TABLE group_member (
    group_id text COLLATE "C" NOT NULL,
    member_type text COLLATE "C" NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    inactive boolean NOT NULL,
    PRIMARY KEY (group_id, member_type, member_id)
  );
  CREATE INDEX group_member_member ON group_member (member_type, member_id);
  CREATE TABLE group_search (
    group_id text COLLATE "C" NOT NULL,
    kind text NOT NULL,
    value text NOT NULL
  );
  CREATE INDEX group_search_kind ON group_search (kind, value);
  CREATE INDEX group_search_group ON group_search (group_id);
  `,
  `
  CREATE TABLE export_job (
    id text PRIMARY KEY,
    client_id text,
    status text NOT NULL,
    request text NOT NULL,
    transaction_time bigint NOT NULL,
    created_at bigint NOT NULL,
    completed_at bigint,
    expires_at bigint,
    error text
  );
  CREATE INDEX export_job_status ON export_job (status, created_at);
  CREATE TABLE export_unit (
    job_id text NOT NULL REFERENCES export_job (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    phase integer NOT NULL,
    spec text NOT NULL,
    estimate bigint NOT NULL,
    progress bigint NOT NULL DEFAULT 0,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    lease_owner text,
    lease_expires bigint,
    result text,
    PRIMARY KEY (job_id, seq)
  );
  CREATE INDEX export_unit_status ON export_unit (status, lease_expires);
  CREATE TABLE export_job_patient (
    job_id text NOT NULL REFERENCES export_job (id) ON DELETE CASCADE,
    patient_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (job_id, patient_id)
  );
  CREATE TABLE export_ref (
    job_id text NOT NULL REFERENCES export_job (id) ON DELETE CASCADE,
    type text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    PRIMARY KEY (job_id, type, id)
  );
  `,
  `
  CREATE TABLE auth_client (
    id text PRIMARY KEY,
    name text NOT NULL,
    jwks_url text,
    jwks text,
    scope text NOT NULL,
    created_at bigint NOT NULL,
    CHECK ((jwks_url IS NULL) <> (jwks IS NULL))
  );
  CREATE TABLE auth_signing_key (
    kid text PRIMARY KEY,
    alg text NOT NULL,
    private_jwk text NOT NULL,
    public_jwk text NOT NULL,
    created_at bigint NOT NULL,
    retired_at bigint
  );
  CREATE TABLE auth_jti (
    client_id text NOT NULL,
    jti text NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (client_id, jti)
  );
  CREATE INDEX auth_jti_expiry ON auth_jti (expires_at);
  `,
  `
  -- No query filters on the JSON text: ANALYZE need not sample it, which makes it several times faster.
  ALTER TABLE resource ALTER COLUMN json SET STATISTICS 0;
  ALTER TABLE resource_history ALTER COLUMN json SET STATISTICS 0;
  `,
  `
  -- Rows up to a page stay inline and uncompressed. At the default target (2 kB) PostgreSQL compresses
  -- one resource in seven with pglz: a sixth of the server's CPU in a load, a fifth in an export that
  -- decompresses them again, to save a sixth of the table's bytes. Larger values use lz4 where the
  -- server has it.
  ALTER TABLE resource SET (toast_tuple_target = 8160);
  ALTER TABLE resource_history SET (toast_tuple_target = 8160);
  DO $$ BEGIN
    ALTER TABLE resource ALTER COLUMN json SET COMPRESSION lz4;
    ALTER TABLE resource_history ALTER COLUMN json SET COMPRESSION lz4;
  EXCEPTION WHEN feature_not_supported THEN NULL;
  END $$;
  `,
  `
  -- Fair sharing (issue 12): a unit that yields its worker part-way keeps where to resume, and each
  -- client's last lease orders the round-robin between clients.
  ALTER TABLE export_unit ADD COLUMN checkpoint text;
  CREATE TABLE export_client_turn (
    client_key text PRIMARY KEY,
    last_leased bigint NOT NULL
  );
  CREATE INDEX export_job_client ON export_job (client_id, status, created_at);
  -- When a worker first took one of the job's units: until then the job is queued.
  ALTER TABLE export_job ADD COLUMN started_at bigint;
  `,
  async (client) => {
    // Provenance targets of current versions, keyed by target, so a Group export reads the Provenance
    // of its members' resources through the compartment index instead of scanning every Provenance.
    await client.query(`
      CREATE TABLE provenance_target (
        target_type text COLLATE "C" NOT NULL,
        target_id text COLLATE "C" NOT NULL,
        rid bigint NOT NULL,
        PRIMARY KEY (target_type, target_id, rid)
      );
      CREATE INDEX provenance_target_rid ON provenance_target (rid);
    `);
    // The Provenance stored before this step: the same targets a write records (prepared-row.ts).
    for (let after = 0; ;) {
      const page = await client.query<{ rid: string; json: string }>(
        "SELECT rid, json FROM resource WHERE type = 'Provenance' AND rid > $1 ORDER BY rid LIMIT 1000",
        [after],
      );
      if (page.rows.length === 0) break;
      const cols: [string[], string[], string[]] = [[], [], []];
      for (const { rid, json } of page.rows) {
        const targets = indexEntries(JSON.parse(json) as FhirResource).targets ?? [];
        for (let i = 0; i < targets.length; i += 2) {
          cols[0].push(targets[i]!);
          cols[1].push(targets[i + 1]!);
          cols[2].push(rid);
        }
      }
      await client.query(
        `INSERT INTO provenance_target (target_type, target_id, rid)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`,
        cols,
      );
      after = Number(page.rows[page.rows.length - 1]!.rid);
    }
  },
];

// Any fixed number; with the schema's name it keys the advisory lock that serializes migrations, so
// processes starting together on one database migrate it once.
const MIGRATION_LOCK = 0x66686972;

/** Bring the schema first on the search_path up to the current version, in one transaction. */
export async function migratePostgres(db: PgDb): Promise<void> {
  await db.tx(async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
    const found = await client.query<{ version: number }>('SELECT version FROM schema_version');
    let version = found.rows[0]?.version ?? 0;
    if (found.rows.length === 0) await client.query('INSERT INTO schema_version (version) VALUES (0)');
    // One transaction for all steps keeps the lock across them; DDL is transactional in PostgreSQL.
    while (version < MIGRATIONS.length) {
      const step = MIGRATIONS[version]!;
      if (typeof step === 'string') await client.query(step);
      else await step(client);
      version += 1;
      await client.query('UPDATE schema_version SET version = $1', [version]);
    }
  });
}
