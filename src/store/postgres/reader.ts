import type { PoolClient } from 'pg';
import type { PgDb } from './db.js';
import type { ColumnKind, CopyValue } from './copy.js';
import { sqlNumber as n, sqlText as s, sqlTextArray } from './sql.js';
import { inCompartment } from '../compartment-check.js';
import type {
  NdjsonChunk,
  RawScanBatch,
  ReadResult,
  ResourceKey,
  ScanBatch,
  ScanKey,
  ScanOptions,
  StoredResource,
} from '../types.js';
import { withCursor } from '../scan-cursor.js';
import { byKey, groupOwners, REFS_PER_QUERY } from '../compartment-owners.js';
import { toStored } from '../stored-row.js';
import type { VersionRow as Row } from '../stored-row.js';

// 512 KiB: batches are short-lived; larger ones only raise the worker threads' peak memory.
const DEFAULT_BATCH_BYTES = 512 * 1024;
// Rows per merged page of a parsed scan: enough that a page's query and sort cost little per row.
const ROWS_PER_QUERY = 5000;
const MERGED_COLUMNS: ColumnKind[] = ['text', 'int4', 'int8', 'text', 'int4'];
/** MERGED_COLUMNS with the JSON as bytes, for scanRows. */
const RAW_COLUMNS: ColumnKind[] = ['text', 'int4', 'int8', 'bytes', 'int4'];
/** Room for the sorts of patient-list scans and of history, which hold whole rows. */
const WORK_MEM = "work_mem = '64MB'";

// Range planning samples about SAMPLE_PAGES pages once the table has SAMPLE_MIN_TABLE_PAGES (about
// 160 MB); below that, exact boundaries cost little.
const SAMPLE_PAGES = 2000;
const SAMPLE_MIN_TABLE_PAGES = 20_000;
const SAMPLE_MIN_ROWS = 200;
const SAMPLE_REUSE_MS = 2000;

/** When range planning samples the table (see `PgReader.sample`); the defaults suit production. */
export interface SamplingOptions {
  /** Sample once the table has this many pages. */
  minTablePages?: number;
  /** About this many pages. */
  pages?: number;
}

/** Sampled keys of a type, in key order, and the row count they suggest. */
interface Sample {
  keys: { last_updated: number; id: string }[];
  rows: number;
}

/** Bounds that cut a sample's key order into ranges of about `rowsPerRange` rows. */
function sampleBounds(sample: Sample, rowsPerRange: number): ScanKey[] {
  const { keys } = sample;
  const ranges = Math.max(1, Math.round(sample.rows / rowsPerRange));
  const bounds: ScanKey[] = [];
  for (let i = 1; i < ranges; i++) {
    const k = keys[Math.floor((i * keys.length) / ranges)]!;
    const last = bounds.at(-1);
    if (last?.lastUpdated === k.last_updated && last.id === k.id) continue;
    bounds.push({ lastUpdated: k.last_updated, id: k.id });
  }
  return bounds;
}

const SCAN_SELECT = 'SELECT r.id, r.version, r.last_updated, r.json';
const NEWLINE = Buffer.from('\n');

/**
 * The FROM and WHERE of a scan's current rows and of its superseded rows, and the settings the
 * current-rows query runs with.
 */
function scanQuery(o: ScanOptions): { current: string; history: string; currentSettings: string[] } {
  const bounds = [`r.type = ${s(o.type)}`, `r.last_updated <= ${n(o.asOf)}`];
  if (o.since !== undefined) bounds.push(`r.last_updated > ${n(o.since)}`);
  if (o.until !== undefined) bounds.push(`r.last_updated < ${n(o.until)}`);
  if (o.after) bounds.push(`(r.last_updated, r.id) > (${n(o.after.lastUpdated)}, ${s(o.after.id)})`);
  if (o.upTo) bounds.push(`(r.last_updated, r.id) <= (${n(o.upTo.lastUpdated)}, ${s(o.upTo.id)})`);
  if (o.ids) bounds.push(`r.id = ANY(${sqlTextArray(o.ids)})`);
  return {
    current: `FROM resource r WHERE ${[...bounds, ...compartmentFilter(o.type, o.patients)].join(' AND ')}`,
    history: `FROM resource_history r WHERE ${bounds.join(' AND ')} AND r.ended > ${n(o.asOf)}`,
    // Without a patient list, read in index order: sorting a whole type would spill to disk. With
    // one, the few rows of those patients are found first and sorted. Units run in parallel already.
    currentSettings: [
      'max_parallel_workers_per_gather = 0',
      Array.isArray(o.patients) ? WORK_MEM : 'enable_sort = off',
    ],
  };
}

/**
 * The next `ROWS_PER_QUERY` rows of a scan, current and superseded merged in key order: each side is
 * an ordered, limited index read, and only their union is sorted. A version keeps its key when a write
 * moves it to history, so a keyset cursor over this order never reads it twice, even across a
 * checkpoint (DESIGN.md §6). (PostgreSQL will not merge-append a UNION ALL of the two whole scans.)
 */
function mergedPage(o: ScanOptions): string {
  const q = scanQuery(o);
  const order = 'ORDER BY r.last_updated, r.id';
  return `SELECT m.id, m.version, m.last_updated, m.json, m.old FROM (
      (${SCAN_SELECT}, 0 AS old ${q.current} ${order} LIMIT ${ROWS_PER_QUERY})
      UNION ALL
      (${SCAN_SELECT}, 1 AS old ${q.history} ${order} LIMIT ${ROWS_PER_QUERY})
    ) m ORDER BY m.last_updated, m.id LIMIT ${ROWS_PER_QUERY}`;
}

/** Point reads, snapshot scans, range planning and Group flattening of the PostgreSQL store. */
export class PgReader {
  private samples:
    | { at: number; byType: Promise<{ percent: number; keys: Map<string, Sample['keys']> } | undefined> }
    | undefined;

  constructor(
    private readonly db: PgDb,
    private readonly sampling: SamplingOptions = {},
  ) {}

  async read(type: string, id: string): Promise<ReadResult> {
    const found = await this.db.query<Row>(
      'SELECT type, id, version, last_updated, json FROM resource WHERE type = $1 AND id = $2',
      [type, id],
    );
    const row = found.rows[0];
    if (row) return { status: 'found', resource: toStored(row) };
    const tomb = await this.db.query<{ version: number; deleted_at: number }>(
      'SELECT version, deleted_at FROM tombstone WHERE type = $1 AND id = $2 ORDER BY version DESC LIMIT 1',
      [type, id],
    );
    const t = tomb.rows[0];
    if (t) return { status: 'deleted', type, id, versionId: t.version, deletedAt: t.deleted_at };
    return { status: 'missing' };
  }

  async readVersion(type: string, id: string, versionId: number): Promise<StoredResource | undefined> {
    const found = await this.db.query<Row>(
      `SELECT type, id, version, last_updated, json FROM resource WHERE type = $1 AND id = $2 AND version = $3
       UNION ALL
       SELECT type, id, version, last_updated, json FROM resource_history WHERE type = $1 AND id = $2 AND version = $3
       LIMIT 1`,
      [type, id, versionId],
    );
    const row = found.rows[0];
    return row ? toStored(row) : undefined;
  }

  async types(table: 'resource' | 'tombstone' = 'resource'): Promise<string[]> {
    // Skip scan over the (type, ...) index: one seek per distinct type.
    const found = await this.db.query<{ type: string }>(
      `WITH RECURSIVE t (type) AS (
         SELECT min(type) FROM ${table}
         UNION ALL
         SELECT (SELECT min(r.type) FROM ${table} r WHERE r.type > t.type) FROM t WHERE t.type IS NOT NULL
       ) SELECT type FROM t WHERE type IS NOT NULL`,
    );
    return found.rows.map((r) => r.type);
  }

  async count(type: string): Promise<number> {
    const found = await this.db.query<{ n: number }>('SELECT count(*) AS n FROM resource WHERE type = $1', [
      type,
    ]);
    return found.rows[0]?.n ?? 0;
  }

  /**
   * Current versions at `asOf`, then superseded versions that were current at `asOf`; each in
   * (lastUpdated, id) order. Rows stream by binary COPY at the consumer's pace.
   */
  async *scan(o: ScanOptions): AsyncGenerator<ScanBatch> {
    const budget = o.batchBytes ?? DEFAULT_BATCH_BYTES;
    const patients = o.patients;
    // History rows were not narrowed by the compartment table (it indexes current versions only).
    const keep = patients
      ? (r: StoredResource, old: boolean) => !old || inCompartment(r, patients)
      : undefined;
    const settings = [...scanQuery(o).currentSettings, WORK_MEM];
    let after = o.after;
    for (;;) {
      let read = 0;
      const page = this.batches(mergedPage({ ...o, ...(after ? { after } : {}) }), o.type, budget, settings, {
        ...(keep ? { keep } : {}),
        onRow: (r) => {
          read += 1;
          after = { lastUpdated: r.lastUpdated, id: r.id };
        },
      });
      for await (const rows of page) yield withCursor(rows);
      if (read < ROWS_PER_QUERY) return;
    }
  }

  /**
   * `scan` as each row's UTF-8 bytes, in the same pages and order, with the key of the last row read
   * as cursor: rows the caller rejects on their bytes are never decoded to a string.
   */
  async *scanRows(o: ScanOptions): AsyncGenerator<RawScanBatch> {
    const budget = o.batchBytes ?? DEFAULT_BATCH_BYTES;
    const patients = o.patients;
    const settings = [...scanQuery(o).currentSettings, WORK_MEM];
    let after = o.after;
    for (;;) {
      let read = 0;
      let rows: Buffer[] = [];
      let bytes = 0;
      const page = mergedPage({ ...o, ...(after ? { after } : {}) });
      for await (const values of this.db.copyOut(page, RAW_COLUMNS, settings)) {
        for (const v of values) {
          read += 1;
          after = { lastUpdated: v[2] as number, id: v[0] as string };
          // A copy: the decoder's chunk would otherwise stay alive as long as any row of it.
          const json = Buffer.from(v[3] as Uint8Array);
          // History rows were not narrowed by the compartment table (it indexes current versions only).
          if (patients && v[4] === 1) {
            const r = { type: o.type, id: v[0] as string, json: json.toString('utf8') };
            if (!inCompartment(r, patients)) continue;
          }
          rows.push(json);
          bytes += json.length;
          if (bytes >= budget) {
            yield { rows, cursor: after };
            rows = [];
            bytes = 0;
          }
        }
      }
      if (rows.length > 0) yield { rows, cursor: after! };
      if (read < ROWS_PER_QUERY) return;
    }
  }

  /** `scan` as NDJSON bytes: the COPY stream's text is copied out as UTF-8, never decoded. */
  async *scanNdjson(o: ScanOptions): AsyncGenerator<NdjsonChunk> {
    const budget = o.batchBytes ?? DEFAULT_BATCH_BYTES;
    const q = scanQuery(o);
    const patients = o.patients;
    let parts: Buffer[] = [];
    let rows = 0;
    let bytes = 0;
    const take = (json: Uint8Array): NdjsonChunk | undefined => {
      parts.push(Buffer.from(json.buffer, json.byteOffset, json.byteLength), NEWLINE);
      rows += 1;
      bytes += json.byteLength + 1;
      if (bytes < budget) return undefined;
      return flush();
    };
    const flush = (): NdjsonChunk => {
      const chunk = { rows, bytes: Buffer.concat(parts, bytes) };
      parts = [];
      rows = 0;
      bytes = 0;
      return chunk;
    };
    const historyRows = this.db.rowsStep(
      `SELECT r.id, r.json ${q.history} ORDER BY r.last_updated, r.id`,
      ['text', 'bytes'],
      [WORK_MEM, 'enable_sort = on'],
    );
    async function* history(client: PoolClient): AsyncGenerator<NdjsonChunk> {
      for await (const batch of historyRows(client)) {
        for (const [id, json] of batch) {
          const text = json as Uint8Array;
          if (patients) {
            const r = { type: o.type, id: id as string, json: Buffer.from(text).toString('utf8') };
            if (!inCompartment(r, patients)) continue;
          }
          const chunk = take(text);
          if (chunk) yield chunk;
        }
      }
      if (rows > 0) yield flush();
    }
    // Current rows, then history rows, in one snapshot: a version that a write moves to history while
    // the unit runs is in exactly one of the two as this transaction sees them, so it is read once.
    yield* this.db.copiesInSnapshot([
      this.db.ndjsonStep(`SELECT r.json ${q.current} ORDER BY r.last_updated, r.id`, q.currentSettings),
      history,
    ]);
  }

  private async *batches(
    query: string,
    type: string,
    budget: number,
    settings: string[],
    hooks: { keep?: (r: StoredResource, old: boolean) => boolean; onRow?: (r: StoredResource) => void },
  ): AsyncGenerator<StoredResource[]> {
    let batch: StoredResource[] = [];
    let bytes = 0;
    for await (const rows of this.db.copyOut(query, MERGED_COLUMNS, settings)) {
      for (const v of rows) {
        const r = scanRow(type, v);
        hooks.onRow?.(r);
        if (hooks.keep && !hooks.keep(r, v[4] === 1)) continue;
        batch.push(r);
        bytes += r.json.length;
        if (bytes >= budget) {
          yield batch;
          batch = [];
          bytes = 0;
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** Every `rowsPerRange`-th key of a type's current rows, in one pass over the scan index. */
  async rangeBoundaries(type: string, rowsPerRange: number): Promise<ScanKey[]> {
    const sample = await this.sample(type);
    return sample ? sampleBounds(sample, rowsPerRange) : this.exactBoundaries(type, rowsPerRange);
  }

  /** A type's row count and ranges in one go; on a large table both come from one sample (estimates). */
  async planRanges(type: string, rowsPerRange: number): Promise<{ count: number; bounds: ScanKey[] }> {
    const sample = await this.sample(type);
    if (sample) return { count: Math.round(sample.rows), bounds: sampleBounds(sample, rowsPerRange) };
    const count = await this.count(type);
    return { count, bounds: count > rowsPerRange ? await this.exactBoundaries(type, rowsPerRange) : [] };
  }

  /**
   * Sampled keys of a type, on a large table: counting a type and numbering its rows cost half a
   * second per million, and ranges only need to be about even. Undefined when the table is small or
   * the sample holds too few rows of the type.
   */
  private async sample(type: string): Promise<Sample | undefined> {
    // One sample of every type serves a whole plan: the planner asks for each type within moments.
    const now = Date.now();
    if (!this.samples || now - this.samples.at > SAMPLE_REUSE_MS) {
      this.samples = { at: now, byType: this.sampleTable() };
    }
    const byType = await this.samples.byType;
    const keys = byType?.keys.get(type) ?? [];
    if (!byType || keys.length < SAMPLE_MIN_ROWS) return undefined;
    return { keys, rows: (keys.length * 100) / byType.percent };
  }

  private async sampleTable(): Promise<{ percent: number; keys: Map<string, Sample['keys']> } | undefined> {
    const size = await this.db.query<{ pages: number }>(
      "SELECT relpages::int AS pages FROM pg_class WHERE oid = 'resource'::regclass",
    );
    const pages = size.rows[0]?.pages ?? 0;
    if (pages < (this.sampling.minTablePages ?? SAMPLE_MIN_TABLE_PAGES)) return undefined;
    const percent = Math.min(100, (100 * (this.sampling.pages ?? SAMPLE_PAGES)) / pages);
    const found = await this.db.query<{ type: string; last_updated: number; id: string }>(
      `SELECT type, last_updated, id FROM resource TABLESAMPLE SYSTEM (${n(percent)})
       ORDER BY type, last_updated, id`,
    );
    const keys = new Map<string, Sample['keys']>();
    for (const row of found.rows) {
      let list = keys.get(row.type);
      if (!list) keys.set(row.type, (list = []));
      list.push(row);
    }
    return { percent, keys };
  }

  private async exactBoundaries(type: string, rowsPerRange: number): Promise<ScanKey[]> {
    const found = await this.db.query<{ last_updated: number; id: string }>(
      `SELECT last_updated, id FROM (
         SELECT last_updated, id, row_number() OVER (ORDER BY last_updated, id) AS k FROM resource WHERE type = $1
       ) x WHERE k % $2 = 0 ORDER BY k`,
      [type, rowsPerRange],
    );
    return found.rows.map((r) => ({ lastUpdated: r.last_updated, id: r.id }));
  }

  /** Ids of the Patients current at `asOf` (current rows, plus superseded versions current then). */
  async patientIds(asOf: number): Promise<string[]> {
    const found = await this.db.query<{ id: string }>(
      `SELECT id FROM resource WHERE type = 'Patient' AND last_updated <= $1
       UNION SELECT id FROM resource_history WHERE type = 'Patient' AND last_updated <= $1 AND ended > $1
       ORDER BY id`,
      [asOf],
    );
    return found.rows.map((r) => r.id);
  }

  async groupPatients(groupId: string): Promise<string[]> {
    // UNION (not UNION ALL) drops rows already seen, which ends the recursion on a cycle.
    const found = await this.db.query<{ member_id: string }>(
      `WITH RECURSIVE g (id) AS (
         SELECT $1::text COLLATE "C"
         UNION
         SELECT m.member_id FROM group_member m JOIN g ON m.group_id = g.id
         WHERE m.member_type = 'Group' AND NOT m.inactive
       )
       SELECT DISTINCT m.member_id FROM group_member m JOIN g ON m.group_id = g.id
       WHERE m.member_type = 'Patient' AND NOT m.inactive ORDER BY m.member_id`,
      [groupId],
    );
    return found.rows.map((r) => r.member_id);
  }

  async compartmentsOf(type: string, id: string): Promise<string[]> {
    const found = await this.db.query<{ patient_id: string }>(
      // The row id first, by the unique key: an index lookup whatever the statistics say.
      `SELECT DISTINCT patient_id FROM compartment
       WHERE rid = (SELECT rid FROM resource WHERE type = $1 AND id = $2) ORDER BY patient_id`,
      [type, id],
    );
    return found.rows.map((r) => r.patient_id);
  }

  async compartmentsOfMany(refs: readonly ResourceKey[]): Promise<Map<string, string[]>> {
    const rows: [string, string, string][] = [];
    const sorted = [...refs].sort(byKey);
    for (let i = 0; i < sorted.length; i += REFS_PER_QUERY) {
      const part = sorted.slice(i, i + REFS_PER_QUERY);
      // The key arrays drive the join through the (type, id) key and compartment_rid.
      const found = await this.db.query<{ type: string; id: string; patient_id: string }>(
        `SELECT r.type, r.id, c.patient_id
         FROM unnest($1::text[], $2::text[]) AS k(type, id)
         JOIN resource r ON r.type = k.type AND r.id = k.id
         JOIN compartment c ON c.rid = r.rid`,
        [part.map((r) => r.type), part.map((r) => r.id)],
      );
      for (const r of found.rows) rows.push([r.type, r.id, r.patient_id]);
    }
    return groupOwners(rows);
  }
}

function scanRow(type: string, v: CopyValue[]): StoredResource {
  return {
    type,
    id: v[0] as string,
    versionId: v[1] as number,
    lastUpdated: v[2] as number,
    json: v[3] as string,
  };
}

function compartmentFilter(type: string, patients: ScanOptions['patients']): string[] {
  if (patients === undefined) return [];
  if (type === 'Patient') return patients === 'all' ? [] : [`r.id = ANY(${sqlTextArray(patients)})`];
  const who = patients === 'all' ? '' : ` AND c.patient_id = ANY(${sqlTextArray(patients)})`;
  return [`EXISTS (SELECT 1 FROM compartment c WHERE c.rid = r.rid${who})`];
}
