import type Database from 'better-sqlite3';
import { MemberOwnership, MemberSink, patientBatches, provenanceVersionTargets } from './member-batches.js';
import type { MemberBatch, MemberOptions } from './types.js';

const MAX_TIME = 8.64e15;

// The time terms carry a unary + so that SQLite reaches rows by rowid from the compartment index, not
// by the (type, last_updated) scan index: a small member list touches few rows of each type.
const TIME = `+r.last_updated <= @asOf AND +r.last_updated > @since AND +r.last_updated < @until`;

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

const PROVENANCE_TIME = TIME.replaceAll('r.', 'p.');

/**
 * Current Provenance with a target in the batch: a member Patient (when Patient is a target type) or
 * a resource of a target type in a member's compartment, found through the compartment index and the
 * target index. Each comes with the patients of all its targets, for the lowest-member rule.
 */
const PROVENANCE_SQL = `WITH hit (rid) AS (
    SELECT t.rid FROM compartment c
      CROSS JOIN resource x ON x.rid = c.rid
      CROSS JOIN provenance_target t ON t.target_type = x.type AND t.target_id = x.id
    WHERE c.patient_id IN (SELECT value FROM json_each(@batch))
      AND x.type IN (SELECT value FROM json_each(@targetTypes)) AND x.type <> 'Patient'
    UNION
    SELECT t.rid FROM provenance_target t
    WHERE @patientTargets AND t.target_type = 'Patient' AND t.target_id IN (SELECT value FROM json_each(@batch))
  )
  SELECT CAST(p.json AS BLOB),
    (SELECT group_concat(o.owner) FROM (
       SELECT t.target_id AS owner FROM provenance_target t
       WHERE t.rid = p.rid AND @patientTargets AND t.target_type = 'Patient'
       UNION
       SELECT c.patient_id FROM provenance_target t
         CROSS JOIN resource x ON x.type = t.target_type AND x.id = t.target_id
         CROSS JOIN compartment c ON c.rid = x.rid
       WHERE t.rid = p.rid AND t.target_type <> 'Patient'
         AND t.target_type IN (SELECT value FROM json_each(@targetTypes))) o)
  FROM resource p
  WHERE p.rid IN (SELECT rid FROM hit) AND +p.type = 'Provenance' AND ${PROVENANCE_TIME}`;

/** Superseded Provenance versions that were current at asOf; their targets are read from the JSON. */
const PROVENANCE_HISTORY_SQL = `SELECT r.json FROM resource_history r
  WHERE r.type = 'Provenance' AND r.ended > @asOf AND ${TIME}`;

/** The compartments of one resource in the current data (a superseded Provenance's target). */
const OWNERS_SQL = `SELECT c.patient_id FROM resource x CROSS JOIN compartment c ON c.rid = x.rid
  WHERE x.type = ? AND x.id = ?`;

/**
 * `ResourceStore.readMembers` on SQLite: per batch of patients, their Patient rows, their compartments'
 * current rows through the compartment index, and the superseded versions current at asOf, all in one
 * read transaction so that a version a write moves to history meanwhile is read exactly once.
 */
export function* readMembersSqlite(db: Database.Database, o: MemberOptions): Generator<MemberBatch> {
  const ownership = new MemberOwnership(o.members);
  const types = JSON.stringify(o.types);
  const wantPatient = o.types.includes('Patient');
  const patients = db.prepare<Record<string, unknown>, [Buffer]>(PATIENTS_SQL).raw(true);
  const current = db.prepare<Record<string, unknown>, [string, Buffer, string | null]>(CURRENT_SQL).raw(true);
  const history = db.prepare<Record<string, unknown>, [string, string, string]>(HISTORY_SQL).raw(true);
  const provenance = o.provenanceTargets && provenanceReader(db, o.provenanceTargets, ownership);
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
    for (const [type, json, owners] of current.iterate(params)) {
      if (owners !== null && ownership.ownedByList(owners, inBatch)) sink.add(type, json);
    }
    for (const [type, id, json] of history.iterate(params)) {
      if (ownership.ownsVersion({ type, id, json }, inBatch)) sink.add(type, Buffer.from(json));
    }
    provenance?.(params, inBatch, sink);
    return sink.batch(batch[batch.length - 1]!);
  });
  // The transaction ends before the batch is yielded: no statement stays open while the caller writes.
  for (const batch of patientBatches(o)) yield read(batch);
}

/** Reads a batch's Provenance into its sink (see `MemberOptions.provenanceTargets`). */
function provenanceReader(
  db: Database.Database,
  targetTypes: string[],
  ownership: MemberOwnership,
): (params: Record<string, unknown>, inBatch: ReadonlySet<string>, sink: MemberSink) => void {
  const types = new Set(targetTypes);
  const extra = { targetTypes: JSON.stringify(targetTypes), patientTargets: types.has('Patient') ? 1 : 0 };
  const current = db.prepare<Record<string, unknown>, [Buffer, string | null]>(PROVENANCE_SQL).raw(true);
  const history = db.prepare<Record<string, unknown>, [string]>(PROVENANCE_HISTORY_SQL).raw(true);
  const owners = db.prepare<[string, string], [string]>(OWNERS_SQL).raw(true);
  return (params, inBatch, sink) => {
    const all = { ...params, ...extra };
    for (const [json, found] of current.iterate(all)) {
      if (found !== null && ownership.ownedByList(found, inBatch)) sink.add('Provenance', json);
    }
    // All rows first: the owner lookups are statements of their own.
    for (const [json] of history.all(params)) {
      const { patients, lookups } = provenanceVersionTargets(json, types);
      for (const t of lookups) for (const [p] of owners.all(t.type, t.id)) patients.push(p);
      if (ownership.ownedBy(patients, inBatch)) sink.add('Provenance', Buffer.from(json));
    }
  };
}
