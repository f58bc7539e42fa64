import type Database from 'better-sqlite3';
import { MemberOwnership, MemberSink, patientBatches } from '../member-batches.js';
import type { MemberBatch, MemberOptions } from '../types.js';

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
    return sink.batch(batch[batch.length - 1]!);
  });
  // The transaction ends before the batch is yielded: no statement stays open while the caller writes.
  for (const batch of patientBatches(o)) yield read(batch);
}
