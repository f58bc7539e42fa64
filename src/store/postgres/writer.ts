import type { PoolClient } from 'pg';
import { formatInstant } from '../../fhir/index.js';
import type { PgDb } from './db.js';
import type { ColumnKind, CopyValue } from './copy.js';
import type { GroupIndex, IndexEntries, PreparedRow } from '../prepared-row.js';
import { stampJson } from '../stamp.js';
import type { Tombstone } from '../types.js';
import { unchangedWrite } from '../write-check.js';
import type { CurrentVersion, WriteDone } from '../write-check.js';

const COMPARTMENT_COLUMNS: ColumnKind[] = ['text', 'int8', 'text'];

interface Current extends CurrentVersion {
  rid: number;
}

/** A resource row to (re)index after it was written. */
export interface Indexed {
  row: IndexEntries & { type: string; id: string };
  rid: number;
}

/** Allocate the next instant: strictly after the last one handed out, and not before `now`. The row lock is held to commit. */
export async function tickClock(client: PoolClient, now: number): Promise<number> {
  const result = await client.query<{ last: number }>(
    'UPDATE clock SET last = greatest(last + 1, $1::bigint) RETURNING last',
    [now],
  );
  return result.rows[0]!.last;
}

/** The write paths of the PostgreSQL store; every call runs inside a transaction that ticked the clock. */
export class PgWriter {
  constructor(
    private readonly db: PgDb,
    private readonly c: PoolClient,
  ) {}

  /** Write one prepared resource at instant `at`. */
  async write(row: PreparedRow, at: number, ifMatch?: number): Promise<WriteDone> {
    const { type, id } = row;
    const found = await this.c.query<Partial<Current> & { tomb: number | null }>(
      `SELECT r.rid, r.version, r.last_updated, r.hash, r.json,
              (SELECT max(t.version) FROM tombstone t WHERE t.type = $1 AND t.id = $2) AS tomb
       FROM (SELECT 1) one LEFT JOIN resource r ON r.type = $1 AND r.id = $2`,
      [type, id],
    );
    const { tomb, ...rest } = found.rows[0]!;
    const current = rest.rid === null ? undefined : (rest as Current);
    const unchanged = unchangedWrite(row, current, ifMatch);
    if (unchanged) return unchanged;
    if (current) {
      const version = current.version + 1;
      const json = stampJson(row, version, formatInstant(at));
      await this.updateRows([{ rid: current.rid, version, hash: row.hash, json }], at);
      await this.index([{ row, rid: current.rid }], true);
      return { outcome: 'updated', versionId: version, lastUpdated: at, json };
    }
    const version = (tomb ?? 0) + 1;
    const json = stampJson(row, version, formatInstant(at));
    const inserted = await this.c.query<{ rid: number }>(
      'INSERT INTO resource (type, id, version, last_updated, hash, json) VALUES ($1, $2, $3, $4, $5, $6) RETURNING rid',
      [type, id, version, at, row.hash, json],
    );
    await this.index([{ row, rid: inserted.rows[0]!.rid }], false);
    return { outcome: 'created', versionId: version, lastUpdated: at, json };
  }

  /** Move the current versions to history (ended at `at`) and replace them. */
  async updateRows(
    updates: { rid: number; version: number; hash: string; json: string }[],
    at: number,
  ): Promise<void> {
    const rids = updates.map((u) => u.rid);
    await this.c.query(
      `INSERT INTO resource_history (type, id, version, last_updated, ended, json)
       SELECT type, id, version, last_updated, $2, json FROM resource WHERE rid = ANY($1::bigint[])`,
      [rids, at],
    );
    await this.c.query(
      `UPDATE resource r SET version = u.version, last_updated = $1, hash = u.hash, json = u.json
       FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[]) AS u (rid, version, hash, json)
       WHERE r.rid = u.rid`,
      [at, rids, updates.map((u) => u.version), updates.map((u) => u.hash), updates.map((u) => u.json)],
    );
  }

  /** Delete the current version at instant `at`, leaving a tombstone. */
  async remove(type: string, id: string, at: number): Promise<Tombstone | undefined> {
    const result = await this.c.query<{ version: number }>(
      `WITH d AS (DELETE FROM resource WHERE type = $1 AND id = $2 RETURNING rid, type, id, version, last_updated, json),
       h AS (INSERT INTO resource_history (type, id, version, last_updated, ended, json)
             SELECT type, id, version, last_updated, $3, json FROM d),
       t AS (INSERT INTO tombstone (type, id, version, deleted_at) SELECT type, id, version + 1, $3 FROM d),
       c AS (DELETE FROM compartment WHERE rid IN (SELECT rid FROM d)),
       pt AS (DELETE FROM provenance_target WHERE $1 = 'Provenance' AND rid IN (SELECT rid FROM d)),
       m AS (DELETE FROM group_member WHERE $1 = 'Group' AND group_id = $2 AND EXISTS (SELECT 1 FROM d)),
       s AS (DELETE FROM group_search WHERE $1 = 'Group' AND group_id = $2 AND EXISTS (SELECT 1 FROM d))
       SELECT version + 1 AS version FROM d`,
      [type, id, at],
    );
    const row = result.rows[0];
    return row ? { type, id, versionId: row.version, deletedAt: at } : undefined;
  }

  /** Write the compartment rows (and Group rows) of resources just written. */
  async index(written: Indexed[], replace: boolean): Promise<void> {
    if (replace) {
      await this.c.query('DELETE FROM compartment WHERE rid = ANY($1::bigint[])', [
        written.map((w) => w.rid),
      ]);
    }
    const rows = compartmentRows(written);
    if (rows.length > 0)
      await this.db.copyIn(this.c, 'compartment (patient_id, rid, param)', COMPARTMENT_COLUMNS, rows);
    for (const { row } of written) if (row.group) await this.indexGroup(row.id, row.group);
    await this.indexTargets(
      written.filter((w) => w.row.type === 'Provenance'),
      replace,
    );
  }

  /** The target index rows of Provenance just written (replacing those of their earlier versions). */
  private async indexTargets(written: Indexed[], replace: boolean): Promise<void> {
    if (written.length === 0) return;
    if (replace) {
      await this.c.query('DELETE FROM provenance_target WHERE rid = ANY($1::bigint[])', [
        written.map((w) => w.rid),
      ]);
    }
    const cols: [string[], string[], number[]] = [[], [], []];
    for (const { row, rid } of written) {
      const targets = row.targets ?? [];
      for (let i = 0; i < targets.length; i += 2) {
        cols[0].push(targets[i]!);
        cols[1].push(targets[i + 1]!);
        cols[2].push(rid);
      }
    }
    if (cols[0].length === 0) return;
    await this.c.query(
      `INSERT INTO provenance_target (target_type, target_id, rid)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`,
      cols,
    );
  }

  private async indexGroup(id: string, group: GroupIndex): Promise<void> {
    await this.c.query('DELETE FROM group_member WHERE group_id = $1', [id]);
    await this.c.query('DELETE FROM group_search WHERE group_id = $1', [id]);
    // urn:uuid members carry no type: take the stored type, else Patient (it may load later).
    const untyped = group.members.filter((m) => m.type === undefined).map((m) => m.id);
    const stored = new Map<string, string>();
    if (untyped.length > 0) {
      const found = await this.c.query<{ id: string; type: string }>(
        "SELECT id, type FROM resource WHERE type IN ('Group', 'Patient') AND id = ANY($1::text[]) ORDER BY type",
        [untyped],
      );
      for (const f of found.rows) stored.set(f.id, f.type);
    }
    // A member listed twice keeps its last entry, as INSERT OR REPLACE does in SQLite.
    const members = new Map<string, { type: string; id: string; inactive: boolean }>();
    for (const m of group.members) {
      const type = m.type ?? stored.get(m.id) ?? 'Patient';
      members.set(`${type}/${m.id}`, { type, id: m.id, inactive: m.inactive });
    }
    const list = [...members.values()];
    await this.c.query(
      `INSERT INTO group_member (group_id, member_type, member_id, inactive)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::boolean[])`,
      [id, list.map((m) => m.type), list.map((m) => m.id), list.map((m) => m.inactive)],
    );
    await this.c.query(
      'INSERT INTO group_search (group_id, kind, value) SELECT $1, * FROM unnest($2::text[], $3::text[])',
      [id, group.search.map((s) => s[0]), group.search.map((s) => s[1])],
    );
  }
}

/** Compartment rows of written resources, each (patient, param) once per resource. */
function compartmentRows(written: Indexed[]): CopyValue[][] {
  const out: CopyValue[][] = [];
  for (const { row, rid } of written) {
    const refs = row.compartment;
    const seen = refs.length > 2 ? new Set<string>() : undefined;
    for (let i = 0; i < refs.length; i += 2) {
      const patient = refs[i] as string;
      const param = refs[i + 1] as string;
      if (seen) {
        const key = `${patient}\u0000${param}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      out.push([patient, rid, param]);
    }
  }
  return out;
}
