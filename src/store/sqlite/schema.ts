import type Database from 'better-sqlite3';
import type { FhirResource } from '../../fhir/index.js';
import { indexEntries } from '../prepared-row.js';

// Each entry migrates from user_version = index to index + 1. Append only; never edit a shipped one.
// A function entry runs inside the step's transaction, for a step that needs more than SQL.
const MIGRATIONS: (string | ((db: Database.Database) => void))[] = [
  `
  CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE resource (
    rid INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    hash TEXT NOT NULL,
    json TEXT NOT NULL,
    UNIQUE (type, id)
  );
  CREATE INDEX resource_scan ON resource (type, last_updated, id);
  -- Superseded versions. 'ended' is the instant the next version (or the deletion) was written,
  -- so the version current at T is: last_updated <= T < ended.
  CREATE TABLE resource_history (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    ended INTEGER NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (type, id, version)
  );
  CREATE INDEX history_ended ON resource_history (type, ended);
  CREATE TABLE tombstone (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    deleted_at INTEGER NOT NULL,
    PRIMARY KEY (type, id, version)
  );
  CREATE INDEX tombstone_time ON tombstone (type, deleted_at);
  -- Patient compartment of current versions: one row per (patient, resource row, param). Keyed by
  -- the resource's rowid, which grows with inserts, so loading appends instead of scattering writes.
  CREATE TABLE compartment (
    patient_id TEXT NOT NULL,
    rid INTEGER NOT NULL,
    param TEXT NOT NULL,
    PRIMARY KEY (patient_id, rid, param)
  ) WITHOUT ROWID;
  CREATE INDEX compartment_rid ON compartment (rid);
  -- Direct Group members, references resolved; nested Groups are flattened at query time.
  CREATE TABLE group_member (
    group_id TEXT NOT NULL,
    member_type TEXT NOT NULL,
    member_id TEXT NOT NULL,
    inactive INTEGER NOT NULL,
    PRIMARY KEY (group_id, member_type, member_id)
  ) WITHOUT ROWID;
  CREATE INDEX group_member_member ON group_member (member_type, member_id);
  CREATE TABLE group_search (
    group_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL
  );
  CREATE INDEX group_search_kind ON group_search (kind, value);
  CREATE INDEX group_search_group ON group_search (group_id);
  `,
  `
  CREATE TABLE export_job (
    id TEXT PRIMARY KEY,
    client_id TEXT,
    status TEXT NOT NULL,
    request TEXT NOT NULL,
    transaction_time INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    completed_at INTEGER,
    expires_at INTEGER,
    error TEXT
  );
  CREATE INDEX export_job_status ON export_job (status, created_at);
  CREATE TABLE export_unit (
    job_id TEXT NOT NULL REFERENCES export_job (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    phase INTEGER NOT NULL,
    spec TEXT NOT NULL,
    estimate INTEGER NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires INTEGER,
    result TEXT,
    PRIMARY KEY (job_id, seq)
  );
  CREATE INDEX export_unit_status ON export_unit (status, lease_expires);
  CREATE TABLE export_job_patient (
    job_id TEXT NOT NULL REFERENCES export_job (id) ON DELETE CASCADE,
    patient_id TEXT NOT NULL,
    PRIMARY KEY (job_id, patient_id)
  ) WITHOUT ROWID;
  -- Supporting resources referenced by a job's output, de-duplicated by the key.
  CREATE TABLE export_ref (
    job_id TEXT NOT NULL REFERENCES export_job (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (job_id, type, id)
  ) WITHOUT ROWID;
  `,
  `
  -- SMART Backend Services: registered clients (exactly one of jwks_url and jwks), the keys that sign
  -- our access tokens, and the client-assertion jti replay cache (kept until the assertion expires).
  CREATE TABLE auth_client (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    jwks_url TEXT,
    jwks TEXT,
    scope TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK ((jwks_url IS NULL) <> (jwks IS NULL))
  );
  CREATE TABLE auth_signing_key (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_jwk TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
  );
  CREATE TABLE auth_jti (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
  ) WITHOUT ROWID;
  CREATE INDEX auth_jti_expiry ON auth_jti (expires_at);
  `,
  `
  -- Fair sharing (issue 12): a unit that yields its worker part-way keeps where to resume, and each
  -- client's last lease orders the round-robin between clients.
  ALTER TABLE export_unit ADD COLUMN checkpoint TEXT;
  CREATE TABLE export_client_turn (
    client_key TEXT PRIMARY KEY,
    last_leased INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX export_job_client ON export_job (client_id, status, created_at);
  -- When a worker first took one of the job's units: until then the job is queued.
  ALTER TABLE export_job ADD COLUMN started_at INTEGER;
  `,
  (db) => {
    // Provenance targets of current versions, keyed by target, so a Group export reads the Provenance
    // of its members' resources through the compartment index instead of scanning every Provenance.
    db.exec(`
      CREATE TABLE provenance_target (
        target_type TEXT NOT NULL,
        target_id TEXT NOT NULL,
        rid INTEGER NOT NULL,
        PRIMARY KEY (target_type, target_id, rid)
      ) WITHOUT ROWID;
      CREATE INDEX provenance_target_rid ON provenance_target (rid);
    `);
    // The Provenance stored before this step: the same targets a write records (prepared-row.ts).
    const insert = db.prepare('INSERT INTO provenance_target (target_type, target_id, rid) VALUES (?, ?, ?)');
    // In rid order, a page at a time: one pass over the table, and memory bounded by the page.
    const page = db.prepare<[number], { rid: number; json: string }>(
      "SELECT rid, json FROM resource WHERE rid > ? AND type = 'Provenance' ORDER BY rid LIMIT 1000",
    );
    for (let after = 0, rows = page.all(after); rows.length > 0; rows = page.all(after)) {
      for (const { rid, json } of rows) {
        const targets = indexEntries(JSON.parse(json) as FhirResource).targets ?? [];
        for (let i = 0; i < targets.length; i += 2) insert.run(targets[i], targets[i + 1], rid);
      }
      after = rows[rows.length - 1]!.rid;
    }
  },
  // The row a superseded version was current in (updates keep a row's rid), so an export that reads
  // members' rows in rid ranges (member-rids.ts) reads each version current at its snapshot time in
  // the range its row lies in, whether the version is still current or moved here meanwhile. Versions
  // superseded before this step have none: they are read with the first range.
  (db) => {
    // A step of its own that a test may run twice (it rolls the version back past it).
    const columns = db.prepare<[], { name: string }>('PRAGMA table_info(resource_history)').all();
    if (!columns.some((c) => c.name === 'rid'))
      db.exec('ALTER TABLE resource_history ADD COLUMN rid INTEGER');
  },
];

/** Bring a database up to the current schema version, in one transaction per step. */
export function migrate(db: Database.Database): void {
  const all = MIGRATIONS;
  for (;;) {
    // The version is read under the write lock, so two processes starting together never both
    // apply the same step.
    const applied = db
      .transaction(() => {
        const version = db.pragma('user_version', { simple: true }) as number;
        if (version >= all.length) return false;
        const step = all[version]!;
        if (typeof step === 'string') db.exec(step);
        else step(db);
        db.pragma(`user_version = ${version + 1}`);
        return true;
      })
      .immediate();
    if (!applied) return;
  }
}
