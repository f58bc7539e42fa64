import type { PgDb } from './db.js';
import type { ColumnKind, CopyValue } from './copy.js';
import { sqlNumber as n, sqlTextArray } from './sql.js';
import { compartmentOwners, inCompartment } from '../compartment-check.js';
import type { BlockOptions, DeletedOptions, PatientBlock, StoredResource, Tombstone } from '../types.js';

const ROWS_PER_QUERY = 5000;
const MAX_TIME = 8.64e15;
/** Patients per streaming query: enough to save round trips, few enough that its sort stays small. */
const PATIENTS_PER_QUERY = 100;
/** Room for the sort of one query's blocks, which holds whole rows. */
const WORK_MEM = "work_mem = '64MB'";
const BLOCK_COLUMNS: ColumnKind[] = ['int8', 'text', 'text', 'int4', 'int8', 'text'];

const toStored = (v: CopyValue[], at: number): StoredResource => ({
  type: v[at] as string,
  id: v[at + 1] as string,
  versionId: v[at + 2] as number,
  lastUpdated: v[at + 3] as number,
  json: v[at + 4] as string,
});

/** Latest tombstone per resource in (since, asOf] (and < until), skipping resources recreated by asOf. */
export async function* pgDeletedSince(db: PgDb, o: DeletedOptions): AsyncGenerator<Tombstone[]> {
  // The version before a deletion is in history; its JSON says whose compartment the resource was in.
  const query = `
    SELECT t.id, t.version, t.deleted_at, h.json AS prior FROM tombstone t
    LEFT JOIN resource_history h ON $7 AND h.type = t.type AND h.id = t.id AND h.version = t.version - 1
    WHERE t.type = $1 AND t.deleted_at > $2 AND t.deleted_at <= $3 AND t.deleted_at < $4
      AND (t.deleted_at, t.id) > ($5, $6)
      AND NOT EXISTS (SELECT 1 FROM tombstone t2 WHERE t2.type = t.type AND t2.id = t.id
                      AND t2.version > t.version AND t2.deleted_at <= $3)
      AND NOT EXISTS (SELECT 1 FROM resource r WHERE r.type = t.type AND r.id = t.id
                      AND r.last_updated > t.deleted_at AND r.last_updated <= $3)
      AND NOT EXISTS (SELECT 1 FROM resource_history h2 WHERE h2.type = t.type AND h2.id = t.id
                      AND h2.last_updated > t.deleted_at AND h2.last_updated <= $3)
    ORDER BY t.deleted_at, t.id LIMIT ${ROWS_PER_QUERY}`;
  let at = -MAX_TIME;
  let afterId = '';
  for (;;) {
    const params = [o.type, o.since, o.asOf, o.until ?? MAX_TIME, at, afterId, o.patients !== undefined];
    const { rows } = await db.query<{
      id: string;
      version: number;
      deleted_at: number;
      prior: string | null;
    }>(query, params);
    const out: Tombstone[] = [];
    for (const row of rows) {
      at = row.deleted_at;
      afterId = row.id;
      if (o.patients && (row.prior === null || !inCompartment({ json: row.prior }, o.patients))) continue;
      out.push({ type: o.type, id: row.id, versionId: row.version, deletedAt: row.deleted_at });
    }
    if (out.length > 0) yield out;
    if (rows.length < ROWS_PER_QUERY) return;
  }
}

/**
 * One block per patient: the compartment's current rows as of `asOf`, plus the superseded versions
 * that were current then (read once per call, since only writes after `asOf` leave such rows).
 */
export async function* pgPatientBlocks(db: PgDb, o: BlockOptions): AsyncGenerator<PatientBlock> {
  const old = await supersededByPatient(db, o, blockFilter(o, 'h'));
  for (let start = 0; start < o.patients.length; start += PATIENTS_PER_QUERY) {
    const chunk = o.patients.slice(start, start + PATIENTS_PER_QUERY);
    // The Patient itself first, then its compartment by (type, lastUpdated, id), as the SQLite store does.
    const query = `
      SELECT p.ord, x.type, x.id, x.version, x.last_updated, x.json
      FROM unnest(${sqlTextArray(chunk)}) WITH ORDINALITY AS p (pid, ord)
      CROSS JOIN LATERAL (
        SELECT 0 AS k, r.type, r.id, r.version, r.last_updated, r.json FROM resource r
        WHERE r.type = 'Patient' AND r.id = p.pid
        UNION ALL
        SELECT 1, r.type, r.id, r.version, r.last_updated, r.json FROM resource r
        WHERE r.rid IN (SELECT c.rid FROM compartment c WHERE c.patient_id = p.pid) AND r.type <> 'Patient'
      ) x
      WHERE ${blockFilter(o, 'x')}
      ORDER BY p.ord, x.k, x.type, x.last_updated, x.id`;
    let next = 0;
    let resources: StoredResource[] = [];
    const finish = (upTo: number): PatientBlock[] => {
      const blocks: PatientBlock[] = [];
      for (; next < upTo; next++) {
        const patientId = chunk[next] as string;
        resources.push(...(old.get(patientId) ?? []));
        if (resources.length > 0) blocks.push({ patientId, resources });
        resources = [];
      }
      return blocks;
    };
    for await (const rows of db.copyOut(query, BLOCK_COLUMNS, [WORK_MEM])) {
      for (const v of rows) {
        const index = (v[0] as number) - 1;
        if (index > next) for (const block of finish(index)) yield block;
        resources.push(toStored(v, 1));
      }
    }
    for (const block of finish(chunk.length)) yield block;
  }
}

/** The time and type conditions of a block query, on the row alias `a`. */
function blockFilter(o: BlockOptions, a: string): string {
  const filters = [`${a}.last_updated <= ${n(o.asOf)}`];
  if (o.since !== undefined) filters.push(`${a}.last_updated > ${n(o.since)}`);
  if (o.until !== undefined) filters.push(`${a}.last_updated < ${n(o.until)}`);
  if (o.types) filters.push(`${a}.type = ANY(${sqlTextArray(o.types)})`);
  return filters.join(' AND ');
}

/** Superseded versions current at `asOf` that pass `filter`, by the listed patients whose compartment held them. */
async function supersededByPatient(
  db: PgDb,
  o: BlockOptions,
  filter: string,
): Promise<Map<string, StoredResource[]>> {
  const out = new Map<string, StoredResource[]>();
  const listed = new Set(o.patients);
  const query = `SELECT h.type, h.id, h.version, h.last_updated, h.json FROM resource_history h
    WHERE h.ended > ${n(o.asOf)} AND ${filter}`;
  for await (const rows of db.copyOut(query, BLOCK_COLUMNS.slice(1), [WORK_MEM])) {
    for (const v of rows) {
      const r = toStored(v, 0);
      for (const p of compartmentOwners(r)) {
        if (!listed.has(p)) continue;
        const list = out.get(p);
        if (list) list.push(r);
        else out.set(p, [r]);
      }
    }
  }
  return out;
}
