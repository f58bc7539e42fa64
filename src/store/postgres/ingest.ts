import type { PoolClient } from 'pg';
import { formatInstant } from '../../fhir/index.js';
import type { PgDb } from './db.js';
import type { ColumnKind, CopyValue } from './copy.js';
import type { Indexed, PgWriter } from './writer.js';
import { BatchCursor, INSTANT_LENGTH, INSTANT_OFFSET, VERSION1_LENGTH } from '../prepared-batch.js';
import type { PreparedBatch } from '../prepared-batch.js';
import type { IndexEntries } from '../prepared-row.js';
import { stampJson } from '../stamp.js';
import type { IngestSummary } from '../types.js';

const RESOURCE_COLUMNS: ColumnKind[] = ['int8', 'text', 'text', 'int4', 'int8', 'text', 'text'];
const UNIQUE_VIOLATION = '23505';

/** One row of a prepared batch: its keys, index entries and where its JSON lies in the batch. */
interface BulkRow extends IndexEntries {
  type: string;
  id: string;
  hash: string;
  start: number;
  end: number;
  metaAt: number;
}

/** How to write one batch. */
export interface BulkWrite {
  db: PgDb;
  client: PoolClient;
  writer: PgWriter;
  batch: PreparedBatch;
  at: number;
  /** Try the fast path first: copy every row in as new, falling back when one exists already. */
  expectNew: boolean;
}

/**
 * Write a prepared batch at one instant. When no row can exist yet, the whole batch is copied in
 * under a savepoint, JSON bytes as the loader made them; a unique violation (a resource that exists,
 * or one listed twice) rolls that back to the general path: one lookup of which rows exist, new
 * ones copied in, changed ones updated, and a resource listed twice written in a later round.
 * @returns the summary, and whether any row existed already
 */
export async function writeBulk(w: BulkWrite): Promise<{ summary: IngestSummary; metExisting: boolean }> {
  // Rows come in the batch's write order: built with `sortByKey`, that is about (type, id), so the rows
  // of one batch (one lastUpdated) land in the table in the order scans read them.
  const rows = bulkRows(w.batch);
  const types = [...new Set(rows.map((r) => r.type))];
  if (w.expectNew && !(await anyTombstone(w.client, types))) {
    await w.client.query('SAVEPOINT bulk_new');
    try {
      await copyNew(w, rows, new Map());
      await w.client.query('RELEASE SAVEPOINT bulk_new');
      return { summary: { created: rows.length, updated: 0, unchanged: 0 }, metExisting: false };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      await w.client.query('ROLLBACK TO SAVEPOINT bulk_new');
    }
  }
  const summary: IngestSummary = { created: 0, updated: 0, unchanged: 0 };
  let metExisting = false;
  for (const round of rounds(rows)) metExisting = (await writeRound(w, round, summary)) || metExisting;
  return { summary, metExisting };
}

/** Write rows that name each resource once; true when any existed already. */
async function writeRound(w: BulkWrite, rows: BulkRow[], summary: IngestSummary): Promise<boolean> {
  const existing = await w.client.query<{ i: number; rid: number; version: number; hash: string }>(
    `SELECT k.i::int AS i, r.rid, r.version, r.hash
     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k (type, id, i)
     JOIN resource r ON r.type = k.type AND r.id = k.id`,
    [rows.map((r) => r.type), rows.map((r) => r.id)],
  );
  const found = new Map(existing.rows.map((e) => [e.i - 1, e]));
  const fresh: BulkRow[] = [];
  const changed: Indexed[] = [];
  const updates: { rid: number; version: number; hash: string; json: string }[] = [];
  const instant = formatInstant(w.at);
  rows.forEach((row, i) => {
    const current = found.get(i);
    if (current === undefined) {
      fresh.push(row);
    } else if (current.hash === row.hash) {
      summary.unchanged += 1;
    } else {
      const version = current.version + 1;
      updates.push({
        rid: current.rid,
        version,
        hash: row.hash,
        json: stampedText(w.batch, row, version, instant),
      });
      changed.push({ row, rid: current.rid });
    }
  });
  if (updates.length > 0) {
    await w.writer.updateRows(updates, w.at);
    await w.writer.index(changed, true);
  }
  if (fresh.length > 0) await copyNew(w, fresh, await tombVersions(w.client, fresh));
  summary.created += fresh.length;
  summary.updated += changed.length;
  return found.size > 0;
}

/** Copy rows in as new resources, at version 1 or after their last tombstone, and index them. */
async function copyNew(w: BulkWrite, rows: BulkRow[], tombs: Map<number, number>): Promise<void> {
  const instant = formatInstant(w.at);
  const instantBytes = Buffer.from(instant, 'latin1');
  const json = bytesOf(w.batch);
  const first = await allocateRids(w.client, rows.length);
  function* values(): Generator<CopyValue[]> {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const version = (tombs.get(i) ?? 0) + 1;
      let text: string | Uint8Array;
      if (version === 1 && instant.length === INSTANT_LENGTH) {
        json.set(instantBytes, row.metaAt + INSTANT_OFFSET);
        text = json.subarray(row.start, row.end);
      } else {
        text = stampedText(w.batch, row, version, instant);
      }
      yield [first + i, row.type, row.id, version, w.at, row.hash, text];
    }
  }
  await w.db.copyIn(
    w.client,
    'resource (rid, type, id, version, last_updated, hash, json)',
    RESOURCE_COLUMNS,
    values(),
  );
  await w.writer.index(
    rows.map((row, i) => ({ row, rid: first + i })),
    false,
  );
}

/** Reserve `n` consecutive row ids; safe because every writer holds the clock lock. Returns the first. */
async function allocateRids(client: PoolClient, n: number): Promise<number> {
  const got = await client.query<{ last: number }>(
    "SELECT setval('resource_rid_seq', nextval('resource_rid_seq') + $1::bigint - 1) AS last",
    [n],
  );
  return got.rows[0]!.last - n + 1;
}

async function anyTombstone(client: PoolClient, types: string[]): Promise<boolean> {
  const found = await client.query<{ yes: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM tombstone WHERE type = ANY($1::text[])) AS yes',
    [types],
  );
  return found.rows[0]?.yes ?? false;
}

/** The last tombstone version of rows that have no current version, by index in `rows`. */
async function tombVersions(client: PoolClient, rows: BulkRow[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (!(await anyTombstone(client, [...new Set(rows.map((r) => r.type))]))) return out;
  const found = await client.query<{ i: number; version: number }>(
    `SELECT k.i::int AS i, max(t.version) AS version
     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k (type, id, i)
     JOIN tombstone t ON t.type = k.type AND t.id = k.id GROUP BY k.i`,
    [rows.map((r) => r.type), rows.map((r) => r.id)],
  );
  for (const f of found.rows) out.set(f.i - 1, f.version);
  return out;
}

function bytesOf(batch: PreparedBatch): Buffer {
  return Buffer.from(batch.json.buffer, batch.json.byteOffset, batch.json.byteLength);
}

/** A row's stored JSON at any version, as text. */
function stampedText(batch: PreparedBatch, row: BulkRow, version: number, instant: string): string {
  const json = bytesOf(batch);
  const head = json.toString('utf8', row.start, row.metaAt);
  const tail = json.toString('utf8', row.metaAt + VERSION1_LENGTH, row.end);
  return stampJson({ head, tail }, version, instant);
}

function bulkRows(batch: PreparedBatch): BulkRow[] {
  const rows: BulkRow[] = [];
  const c = new BatchCursor(batch);
  while (c.next()) {
    const row: BulkRow = {
      type: c.type,
      id: c.id,
      hash: c.hash,
      compartment: [...c.compartment],
      start: c.start,
      end: c.end,
      metaAt: c.metaAt,
    };
    if (c.group) row.group = c.group;
    if (c.targets) row.targets = c.targets;
    rows.push(row);
  }
  return rows;
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === UNIQUE_VIOLATION;
}

/** Split rows so that no round names a resource twice; the n-th write of a resource goes in round n. */
function rounds(rows: BulkRow[]): BulkRow[][] {
  const seen = new Map<string, number>();
  const out: BulkRow[][] = [];
  for (const row of rows) {
    const key = `${row.type}/${row.id}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    (out[n] ??= []).push(row);
  }
  return out;
}
