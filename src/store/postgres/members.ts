import type { PoolClient } from 'pg';
import type { PgDb } from './db.js';
import type { CopyValue } from './copy.js';
import { MemberOwnership, MemberSink, patientBatches } from '../member-batches.js';
import { sqlNumber as n, sqlTextArray } from './sql.js';
import type { MemberBatch, MemberOptions } from '../types.js';

/** Room for the hash of a batch's row ids. */
const WORK_MEM = "work_mem = '64MB'";

const asBuffer = (v: CopyValue): Buffer => {
  const bytes = v as Uint8Array;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

/** The time bounds of the rows a member read takes, on alias r. */
function timeBounds(o: MemberOptions): string {
  const bounds = [`r.last_updated <= ${n(o.asOf)}`];
  if (o.since !== undefined) bounds.push(`r.last_updated > ${n(o.since)}`);
  if (o.until !== undefined) bounds.push(`r.last_updated < ${n(o.until)}`);
  return bounds.join(' AND ');
}

/**
 * `ResourceStore.readMembers` on PostgreSQL: per batch of patients, in one REPEATABLE READ snapshot,
 * their Patient rows, their compartments' current rows through the compartment index (each with every
 * patient whose compartment holds it, so only the batch of its lowest member keeps it), and the
 * superseded versions current at asOf, checked in JS as the type scan does.
 */
export async function* pgReadMembers(db: PgDb, o: MemberOptions): AsyncGenerator<MemberBatch> {
  const ownership = new MemberOwnership(o.members);
  const time = timeBounds(o);
  const types = sqlTextArray(o.types);
  const settings = ['max_parallel_workers_per_gather = 0', WORK_MEM];
  for (const batch of patientBatches(o)) {
    const ids = sqlTextArray(batch);
    const inBatch = new Set(batch);
    const sink = new MemberSink();
    const steps: ((client: PoolClient) => AsyncIterable<CopyValue[][]>)[] = [];
    const kinds: ('patient' | 'current' | 'history')[] = [];
    if (o.types.includes('Patient')) {
      kinds.push('patient');
      steps.push(
        db.rowsStep(
          `SELECT r.json FROM resource r WHERE r.type = 'Patient' AND r.id = ANY(${ids}) AND ${time}`,
          ['bytes'],
          settings,
        ),
      );
    }
    kinds.push('current', 'history');
    steps.push(
      db.rowsStep(
        `SELECT r.type, r.json,
           (SELECT string_agg(DISTINCT c2.patient_id, ',') FROM compartment c2 WHERE c2.rid = r.rid)
         FROM resource r
         WHERE r.rid IN (SELECT c.rid FROM compartment c WHERE c.patient_id = ANY(${ids}))
           AND r.type = ANY(${types}) AND r.type <> 'Patient' AND ${time}`,
        ['text', 'bytes', 'text'],
        settings,
      ),
      db.rowsStep(
        `SELECT r.type, r.id, r.json FROM resource_history r
         WHERE r.type = ANY(${types}) AND r.ended > ${n(o.asOf)} AND ${time}`,
        ['text', 'text', 'text'],
        settings,
      ),
    );
    // Steps run in order; each one's rows are told apart by the step that yields them.
    let step = 0;
    const wrapped = steps.map((run, i) => (client: PoolClient) => {
      step = i;
      return run(client);
    });
    for await (const rows of db.copiesInSnapshot(wrapped)) {
      const kind = kinds[step];
      for (const v of rows) {
        if (kind === 'patient') sink.add('Patient', asBuffer(v[0]!));
        else if (kind === 'current') {
          const owners = v[2] as string | null;
          if (owners !== null && ownership.ownedByList(owners, inBatch))
            sink.add(v[0] as string, asBuffer(v[1]!));
        } else {
          const r = { type: v[0] as string, id: v[1] as string, json: v[2] as string };
          if (ownership.ownsVersion(r, inBatch)) sink.add(r.type, Buffer.from(r.json));
        }
      }
    }
    yield sink.batch(batch[batch.length - 1]!);
  }
}
