import type Database from 'better-sqlite3';
import { compartmentOwners } from '../compartment-check.js';
import { NdjsonChunkFiller } from '../ndjson-chunks.js';
import type { MemberRidBatch, MemberRidOptions } from '../types.js';
import { MAX_TIME, TIME, versionTargetPatients } from './members.js';

/**
 * Rows per snapshot: large enough that a batch's fixed queries (history, Provenance) cost little per
 * row, small enough that a batch of typical rows stays near 1 MiB.
 */
const RIDS_PER_BATCH = 1000;
/** A batch ends early past this many bytes of JSON, so a few huge rows cannot make a huge batch. */
const BATCH_BYTES = 4 * 1024 * 1024;
/** A type's share of a batch starts in a buffer of at least this budget. */
const TYPE_CHUNK_BYTES = 64 * 1024;
/** Members whose compartments are counted to place the range bounds: enough to even out patients. */
const SAMPLE_MEMBERS = 256;

/**
 * The row ids of a range's members' compartments and of the members' own Patient rows, each once, in
 * order: the range's read list, taken once. Rows that leave a compartment later are read from history.
 */
const RIDS_SQL = `SELECT c.rid FROM compartment c
    WHERE c.patient_id IN (SELECT value FROM json_each(@members)) AND c.rid > @after AND c.rid <= @upTo
  UNION
  SELECT r.rid FROM resource r
    WHERE r.type = 'Patient' AND r.id IN (SELECT value FROM json_each(@members))
      AND r.rid > @after AND r.rid <= @upTo
  ORDER BY 1`;

/**
 * The current rows of a list of row ids, in list order (ascending, so consecutive rows share pages).
 * Only rows inside the time bounds give their JSON, as text: the driver makes a buffer of its own for
 * each BLOB, which cost twice the CPU of a string here. Only Patient rows give their id (a string
 * per row is CPU the others do not need).
 */
const CURRENT_SQL = `SELECT r.rid, r.type, CASE WHEN r.type = 'Patient' THEN r.id END, CASE WHEN ${TIME} THEN r.json END
  FROM json_each(@rids) k CROSS JOIN resource r ON r.rid = k.value
  WHERE +r.type IN (SELECT value FROM json_each(@types))`;

/**
 * `CURRENT_SQL` for a read that also wants Provenance: every row gives the Provenance that target it
 * in the current data, whatever its time, by the target index (one seek in SQLite per row, which cost
 * a third of what sorting the rows' keys in JS and joining them cost); only rows of a type some
 * Provenance targets (`@targeted`) seek.
 */
const CURRENT_TARGETED_SQL = `SELECT r.rid, r.type, CASE WHEN r.type = 'Patient' THEN r.id END,
    CASE WHEN ${TIME} THEN r.json END,
    CASE WHEN r.type IN (SELECT value FROM json_each(@targeted)) THEN
      (SELECT group_concat(t.rid) FROM provenance_target t WHERE t.target_type = r.type AND t.target_id = r.id)
    END
  FROM json_each(@rids) k CROSS JOIN resource r ON r.rid = k.value
  WHERE +r.type IN (SELECT value FROM json_each(@types))`;

/** The next type some Provenance targets, after `?`: a skip-scan of the target index, a seek a type. */
const NEXT_TARGET_TYPE_SQL = `SELECT target_type FROM provenance_target WHERE target_type > ?
  ORDER BY target_type LIMIT 1`;

/** Superseded versions current at asOf whose row lies in the batch's range (or that have no row id). */
const HISTORY_SQL = `SELECT r.type, r.id, r.json FROM resource_history r
  WHERE r.type IN (SELECT value FROM json_each(@types)) AND r.ended > @asOf AND ${TIME}
    AND ((r.rid > @lo AND r.rid <= @hi) OR (@unkeyed AND r.rid IS NULL))`;

/** The ids of the Provenance of `@rids` current at asOf. */
const PROVENANCE_HIT_SQL = `SELECT p.id FROM resource p
  WHERE p.rid IN (SELECT value FROM json_each(@rids)) AND +p.type = 'Provenance' AND +p.last_updated <= @asOf`;

/** Superseded Provenance versions current at asOf in the batch's range; judged by their own targets. */
const PROVENANCE_HISTORY_SQL = `SELECT r.id, r.json FROM resource_history r
  WHERE r.type = 'Provenance' AND r.ended > @asOf AND r.last_updated <= @asOf
    AND ((r.rid > @lo AND r.rid <= @hi) OR (@unkeyed AND r.rid IS NULL))`;

/** `ResourceStore.memberRidBounds` on SQLite: bounds from the compartments of a spread sample of members. */
export function memberRidBoundsSqlite(
  db: Database.Database,
  members: string[],
  rangesFor: (rows: number) => number,
): { rows: number; bounds: number[] } {
  const sorted = [...new Set(members)].sort();
  const step = Math.max(1, Math.ceil(sorted.length / SAMPLE_MEMBERS));
  const sample = sorted.filter((_, i) => i % step === 0);
  const rids = db
    .prepare<Record<string, unknown>, number>(RIDS_SQL)
    .pluck()
    .all({ members: JSON.stringify(sample), after: -1, upTo: Number.MAX_SAFE_INTEGER });
  const scale = sorted.length / Math.max(1, sample.length);
  const rows = Math.round(rids.length * scale);
  const ranges = Math.max(1, rangesFor(rows));
  const bounds: number[] = [];
  for (let i = 1; i < ranges; i++) {
    const rid = rids[Math.floor((i * rids.length) / ranges)]!;
    if (bounds.length === 0 || rid > bounds[bounds.length - 1]!) bounds.push(rid);
  }
  return { rows, bounds };
}

/**
 * `ResourceStore.readMemberRids` on SQLite. The range's row ids are listed once; each batch then reads
 * up to RIDS_PER_BATCH of them, and the superseded versions whose row lies between the previous batch's
 * last id and its own, in one read transaction: a version a write moves to history meanwhile is read
 * in exactly one batch, as current or as history. Rows come in id order, not patient order, so the
 * pages of a type's rows are read about once each instead of once per row (four times less CPU for a
 * tenth of the patients at 1M resources), and a row in several members' compartments is read once.
 */
export function* readMemberRidsSqlite(db: Database.Database, o: MemberRidOptions): Generator<MemberRidBatch> {
  const members = new Set(o.members);
  const upTo = o.upTo ?? Number.MAX_SAFE_INTEGER;
  const batchRows = Math.max(1, o.batchRows ?? RIDS_PER_BATCH);
  const rids = db
    .prepare<Record<string, unknown>, number>(RIDS_SQL)
    .pluck()
    .all({ members: JSON.stringify(o.members), after: o.after, upTo });
  const base = {
    types: JSON.stringify(o.types),
    asOf: o.asOf,
    since: o.since ?? -MAX_TIME,
    until: o.until ?? MAX_TIME,
  };
  const current = db
    .prepare<Record<string, unknown>, [number, string, string | null, string | null, string | null]>(
      o.provenance ? CURRENT_TARGETED_SQL : CURRENT_SQL,
    )
    .raw(true);
  const history = db.prepare<Record<string, unknown>, [string, string, string]>(HISTORY_SQL).raw(true);
  const provenance = o.provenance ? provenanceFinder(db, o.types, members) : undefined;
  const nextTargetType = db.prepare<[string], string>(NEXT_TARGET_TYPE_SQL).pluck();
  const targetTypes = (): string[] => {
    const out: string[] = [];
    for (let t = nextTargetType.get(''); t !== undefined; t = nextTargetType.get(t)) out.push(t);
    return out;
  };
  const sizes = new Map<string, number>();
  const read = db.transaction((from: number, lo: number): { batch: MemberRidBatch; next: number } => {
    const sink = new TextSink(sizes);
    // The Provenance row ids that target the batch's rows, comma-joined per row.
    const targeted: string[] = [];
    const end = Math.min(rids.length, from + batchRows);
    let next = end;
    const params: Record<string, unknown> = { ...base, rids: JSON.stringify(rids.slice(from, end)) };
    // Read in the batch's snapshot: the types targeted then are the ones its rows can be found by.
    if (provenance) params.targeted = JSON.stringify(targetTypes());
    for (const [rid, type, id, json, provenanceRids] of current.iterate(params)) {
      // Linked patients share a compartment; only the members' own Patient rows are theirs.
      if (type === 'Patient' && !members.has(id!)) continue;
      if (provenanceRids) targeted.push(provenanceRids);
      if (json !== null) sink.add(type, json);
      if (sink.bytes >= BATCH_BYTES) {
        next = rids.indexOf(rid, from) + 1;
        break;
      }
    }
    // The last batch covers the rest of the range, so versions whose row is gone are read too.
    const hi = next >= rids.length ? upTo : rids[next - 1]!;
    const range = { ...base, lo, hi, unkeyed: o.unkeyedHistory && lo === o.after ? 1 : 0 };
    for (const [type, id, json] of history.iterate(range)) {
      const owners = compartmentOwners({ type, id, json });
      if (owners.some((p) => members.has(p))) sink.add(type, json);
    }
    const found = provenance ? provenance(range, targeted) : [];
    return { batch: { lastRid: hi, types: sink.batch(), provenanceIds: found }, next };
  });
  // The transaction ends before the batch is yielded: no statement stays open while the caller writes.
  let lo = o.after;
  for (let from = 0; ;) {
    const { batch, next } = read(from, lo);
    yield batch;
    if (next >= rids.length) return;
    from = next;
    lo = batch.lastRid;
  }
}

/** Finds a batch's `relevant` Provenance: by the target index for current rows, by its JSON for history. */
function provenanceFinder(
  db: Database.Database,
  targetTypes: string[],
  members: ReadonlySet<string>,
): (range: Record<string, unknown>, targeted: string[]) => string[] {
  const hits = db.prepare<Record<string, unknown>, string>(PROVENANCE_HIT_SQL).pluck();
  const history = db.prepare<Record<string, unknown>, [string, string]>(PROVENANCE_HISTORY_SQL).raw(true);
  const targetPatients = versionTargetPatients(db, new Set(targetTypes));
  return (range, targeted) => {
    const found = targeted.length > 0 ? hits.all({ rids: `[${targeted.join(',')}]`, asOf: range.asOf }) : [];
    // All rows first: the owner lookups are statements of their own.
    for (const [id, json] of history.all(range)) {
      if (targetPatients(json).some((p) => members.has(p))) found.push(id);
    }
    return found;
  };
}

/** Collects one batch's rows, given as text, as one NDJSON chunk per type, each row encoded once. */
class TextSink {
  private readonly fillers = new Map<string, NdjsonChunkFiller>();
  /** UTF-16 units of the rows added: a byte count for ASCII JSON, a bound within 3x otherwise. */
  bytes = 0;

  /**
   * @param sizes - each type's bytes in the previous batch of the read: a type's buffer starts at
   * that size, so a type with most of a batch's rows is not copied each time its buffer grows
   */
  constructor(private readonly sizes: Map<string, number>) {}

  add(type: string, json: string): void {
    let filler = this.fillers.get(type);
    if (!filler) {
      const budget = Math.max(TYPE_CHUNK_BYTES, this.sizes.get(type) ?? 0);
      this.fillers.set(type, (filler = new NdjsonChunkFiller(budget)));
    }
    filler.addText(json);
    this.bytes += json.length + 1;
  }

  batch(): MemberRidBatch['types'] {
    const out: MemberRidBatch['types'] = new Map();
    for (const [type, filler] of this.fillers) {
      const chunk = filler.take();
      if (!chunk) continue;
      out.set(type, chunk);
      this.sizes.set(type, chunk.bytes.length);
    }
    return out;
  }
}
