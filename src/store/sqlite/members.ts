import type Database from 'better-sqlite3';
import { MemberOwnership, MemberSink, patientBatches, provenanceVersionTargets } from '../member-batches.js';
import type { MemberBatch, MemberOptions } from '../types.js';

/** Beyond any instant the stores stamp: the bound of a side the request leaves open. */
export const MAX_TIME = 8.64e15;

// The time terms carry a unary + so that SQLite reaches rows by rowid from the compartment index, not
// by the (type, last_updated) scan index: a small member list touches few rows of each type.
export const TIME = `+r.last_updated <= @asOf AND +r.last_updated > @since AND +r.last_updated < @until`;

/** The members' own Patient rows. */
const PATIENTS_SQL = `SELECT CAST(r.json AS BLOB) FROM resource r
  WHERE r.type = 'Patient' AND r.id IN (SELECT value FROM json_each(@batch)) AND ${TIME}`;

/**
 * Current rows in the batch's compartments, each once, with every patient whose compartment holds it
 * (one compartment_rid seek per row): the caller keeps a row only in the batch of its lowest member.
 */
const CURRENT_SQL = `SELECT r.type, CAST(r.json AS BLOB),
    (SELECT group_concat(DISTINCT c2.patient_id) FROM compartment c2 WHERE c2.rid = r.rid)
  FROM resource r
  WHERE r.rid IN (SELECT c.rid FROM compartment c WHERE c.patient_id IN (SELECT value FROM json_each(@batch)))
    AND +r.type IN (SELECT value FROM json_each(@types)) AND +r.type <> 'Patient' AND ${TIME}`;

/** Superseded versions that were current at asOf: few (written after the job began); checked in JS. */
const HISTORY_SQL = `SELECT r.type, r.id, r.json FROM resource_history r
  WHERE r.type IN (SELECT value FROM json_each(@types)) AND r.ended > @asOf AND ${TIME}`;

/**
 * `CURRENT_SQL` for a read that also wants Provenance: every current row of the batch's compartments
 * gives its key, whatever its time, since a Provenance is judged by its targets in the current data;
 * only the rows inside the export's time bounds give their JSON and owners. The keys come from the row
 * the compartment index already led to, so finding the Provenance costs no second visit of it.
 */
const CURRENT_KEYED_SQL = `SELECT r.type, r.id, CASE WHEN ${TIME} THEN CAST(r.json AS BLOB) END,
    CASE WHEN ${TIME} THEN
      (SELECT group_concat(DISTINCT c2.patient_id) FROM compartment c2 WHERE c2.rid = r.rid) END
  FROM resource r
  WHERE r.rid IN (SELECT c.rid FROM compartment c WHERE c.patient_id IN (SELECT value FROM json_each(@batch)))
    AND +r.type IN (SELECT value FROM json_each(@types)) AND +r.type <> 'Patient'`;

/** The current Provenance that target any of `@keys` (`[type, id]` pairs), by the target index. */
const PROVENANCE_HIT_SQL = `SELECT DISTINCT t.rid FROM json_each(@keys) k
  CROSS JOIN provenance_target t ON t.target_type = k.value ->> 0 AND t.target_id = k.value ->> 1
  ORDER BY t.rid`;

/**
 * The Provenance rows of `@rids` inside the time bounds, each with the patients of all its targets of
 * `@types` (a Patient target is its own patient), for the lowest-member rule.
 */
const PROVENANCE_SQL = `SELECT CAST(p.json AS BLOB),
    (SELECT group_concat(o.owner) FROM (
       SELECT t.target_id AS owner FROM provenance_target t
       WHERE t.rid = p.rid AND @patientTargets AND t.target_type = 'Patient'
       UNION
       SELECT c.patient_id FROM provenance_target t
         CROSS JOIN resource x ON x.type = t.target_type AND x.id = t.target_id
         CROSS JOIN compartment c ON c.rid = x.rid
       WHERE t.rid = p.rid AND t.target_type <> 'Patient'
         AND t.target_type IN (SELECT value FROM json_each(@types))) o)
  FROM json_each(@rids) k CROSS JOIN resource p ON p.rid = k.value
  WHERE +p.type = 'Provenance' AND ${TIME.replaceAll('r.', 'p.')}`;

/** Superseded Provenance versions that were current at asOf; their targets are read from the JSON. */
const PROVENANCE_HISTORY_SQL = `SELECT r.json FROM resource_history r
  WHERE r.type = 'Provenance' AND r.ended > @asOf AND ${TIME}`;

/** The compartments of one resource in the current data (a superseded Provenance's target). */
const OWNERS_SQL = `SELECT c.patient_id FROM resource x CROSS JOIN compartment c ON c.rid = x.rid
  WHERE x.type = ? AND x.id = ?`;

/**
 * The patients a superseded Provenance version names through its targets of `types` (which the
 * target index no longer describes): a Patient target names its patient, any other target the
 * patients of its compartment in the current data.
 */
export function versionTargetPatients(
  db: Database.Database,
  types: ReadonlySet<string>,
): (json: string) => string[] {
  const owners = db.prepare<[string, string], string>(OWNERS_SQL).pluck();
  return (json) => {
    const { patients, lookups } = provenanceVersionTargets(json, types);
    for (const t of lookups) patients.push(...owners.all(t.type, t.id));
    return patients;
  };
}

/**
 * `ResourceStore.readMembers` on SQLite: per batch of patients, their Patient rows, their compartments'
 * current rows through the compartment index, and the superseded versions current at asOf, all in one
 * read transaction so that a version a write moves to history meanwhile is read exactly once. With
 * `provenance`, the batch's Provenance too (see `MemberOptions.provenance`), in the same transaction.
 */
export function* readMembersSqlite(db: Database.Database, o: MemberOptions): Generator<MemberBatch> {
  const ownership = new MemberOwnership(o.members);
  const types = JSON.stringify(o.types);
  const wantPatient = o.types.includes('Patient');
  const patients = db.prepare<Record<string, unknown>, [Buffer]>(PATIENTS_SQL).raw(true);
  const current = db.prepare<Record<string, unknown>, [string, Buffer, string | null]>(CURRENT_SQL).raw(true);
  const keyed = db
    .prepare<Record<string, unknown>, [string, string, Buffer | null, string | null]>(CURRENT_KEYED_SQL)
    .raw(true);
  const history = db.prepare<Record<string, unknown>, [string, string, string]>(HISTORY_SQL).raw(true);
  const provenance = o.provenance ? provenanceReader(db, o.types, ownership) : undefined;
  const read = db.transaction((batch: string[]): MemberBatch => {
    const params = {
      batch: JSON.stringify(batch),
      types,
      asOf: o.asOf,
      since: o.since ?? -MAX_TIME,
      until: o.until ?? MAX_TIME,
    };
    const inBatch = new Set(batch);
    const sink = new MemberSink();
    if (wantPatient) for (const [json] of patients.iterate(params)) sink.add('Patient', json);
    if (provenance) {
      // Keys of every current row of the compartments, and of the members themselves: the targets.
      const keys: [string, string][] = wantPatient ? batch.map((p) => ['Patient', p]) : [];
      for (const [type, id, json, owners] of keyed.iterate(params)) {
        keys.push([type, id]);
        if (json !== null && owners !== null && ownership.ownedByList(owners, inBatch)) sink.add(type, json);
      }
      for (const [type, id, json] of history.iterate(params)) {
        if (ownership.ownsVersion({ type, id, json }, inBatch)) sink.add(type, Buffer.from(json));
      }
      provenance(params, keys, { inBatch, sink });
    } else {
      for (const [type, json, owners] of current.iterate(params)) {
        if (owners !== null && ownership.ownedByList(owners, inBatch)) sink.add(type, json);
      }
      for (const [type, id, json] of history.iterate(params)) {
        if (ownership.ownsVersion({ type, id, json }, inBatch)) sink.add(type, Buffer.from(json));
      }
    }
    return sink.batch(batch[batch.length - 1]!);
  });
  // The transaction ends before the batch is yielded: no statement stays open while the caller writes.
  for (const batch of patientBatches(o)) yield read(batch);
}

/** Reads a batch's Provenance into its sink (see `MemberOptions.provenance`), given its targets' keys. */
function provenanceReader(
  db: Database.Database,
  targetTypes: string[],
  ownership: MemberOwnership,
): (
  params: Record<string, unknown>,
  keys: [string, string][],
  to: { inBatch: ReadonlySet<string>; sink: MemberSink },
) => void {
  const types = new Set(targetTypes);
  const patientTargets = types.has('Patient') ? 1 : 0;
  const hits = db.prepare<Record<string, unknown>, [number]>(PROVENANCE_HIT_SQL).raw(true);
  const current = db.prepare<Record<string, unknown>, [Buffer, string | null]>(PROVENANCE_SQL).raw(true);
  const history = db.prepare<Record<string, unknown>, [string]>(PROVENANCE_HISTORY_SQL).raw(true);
  const targetPatients = versionTargetPatients(db, types);
  return (params, keys, { inBatch, sink }) => {
    // In key order, consecutive seeks of the target index share pages.
    keys.sort(([t1, i1], [t2, i2]) => (t1 !== t2 ? (t1 < t2 ? -1 : 1) : i1 < i2 ? -1 : i1 > i2 ? 1 : 0));
    const rids = hits.all({ keys: JSON.stringify(keys) }).map(([rid]) => rid);
    if (rids.length > 0) {
      for (const [json, found] of current.iterate({
        ...params,
        rids: JSON.stringify(rids),
        patientTargets,
      })) {
        if (found !== null && ownership.ownedByList(found, inBatch)) sink.add('Provenance', json);
      }
    }
    // All rows first: the owner lookups are statements of their own.
    for (const [json] of history.all(params)) {
      if (ownership.ownedBy(targetPatients(json), inBatch)) sink.add('Provenance', Buffer.from(json));
    }
  };
}
