import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { FhirResource } from '../../fhir/index.js';
import { PgDb } from './db.js';
import { migratePostgres } from './schema.js';
import { PgWriter, tickClock } from './writer.js';
import { writeBulk } from './ingest.js';
import { PgReader } from './reader.js';
import type { SamplingOptions } from './reader.js';
import { pgDeletedSince, pgPatientBlocks } from './blocks.js';
import { pgReadMembers } from './members.js';
import { pgSearch } from './search.js';
import { PgJobStore } from './jobs.js';
import { PgAuthStore } from './auth.js';
import { prepareRow } from '../prepared-row.js';
import { requireId } from '../write-check.js';
import { ReaderStore } from '../reader-store.js';
import { BatchBuilder } from '../prepared-batch.js';
import type { PreparedBatch } from '../prepared-batch.js';
import type {
  TextScanBatch,
  BlockOptions,
  DeletedOptions,
  IngestSummary,
  MemberBatch,
  MemberOptions,
  NdjsonChunk,
  RawScanBatch,
  PatientBlock,
  ResourceStore,
  ScanBatch,
  ScanKey,
  ScanOptions,
  SearchPage,
  SearchQuery,
  Tombstone,
  WriteResult,
} from '../types.js';

const MAINTAIN_MIN_ROWS = 10_000;
const MAINTAINED_TABLES =
  'resource, compartment, resource_history, tombstone, group_member, group_search, provenance_target';

/** Options for opening the PostgreSQL store. */
export interface PostgresStoreOptions {
  /** Connections in this store's pool (default 8). A scan holds one while it streams. */
  poolSize?: number;
  /** Wall clock, injectable for tests. */
  now?: () => number;
  /** When range planning samples instead of counting; for tests. */
  sampling?: SamplingOptions;
}

/**
 * The store on PostgreSQL, shared by any number of processes (DESIGN.md §1). Tables live in the first
 * schema of the connection's search_path (`?options=-c%20search_path%3Dname` in the URL).
 */
export class PostgresStore extends ReaderStore implements ResourceStore {
  readonly jobs: PgJobStore;
  readonly auth: PgAuthStore;
  protected readonly reader: PgReader;
  private readonly now: () => number;
  private expectNew = true;
  /** Rows this store created or updated by batch, and that count when it last analyzed and vacuumed. */
  private written = 0;
  private analyzedAt = 0;
  private vacuumedAt = 0;

  private constructor(
    private readonly db: PgDb,
    options: PostgresStoreOptions,
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.reader = new PgReader(db, options.sampling);
    this.jobs = new PgJobStore(db);
    this.auth = new PgAuthStore(db);
  }

  /** Connect and migrate. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const db = new PgDb(url, options.poolSize ?? 8);
    try {
      await migratePostgres(db);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new PostgresStore(db, options);
  }

  /**
   * Run `fn` in a transaction that first takes the next instant from the clock row. The row stays
   * locked to commit, so writes commit in instant order and a tick waits for the writes before it.
   */
  private inWrite<T>(fn: (w: PgWriter, at: number) => Promise<T>): Promise<T> {
    return this.db.tx(async (client: PoolClient) =>
      fn(new PgWriter(this.db, client), await tickClock(client, this.now())),
    );
  }

  async create(resource: FhirResource): Promise<WriteResult> {
    const row = prepareRow({ ...resource, id: randomUUID() });
    return this.inWrite(async (w, at) => ({ type: row.type, id: row.id, ...(await w.write(row, at)) }));
  }

  async update(resource: FhirResource, options: { ifMatch?: number } = {}): Promise<WriteResult> {
    const row = prepareRow(requireId(resource));
    return this.inWrite(async (w, at) => ({
      type: row.type,
      id: row.id,
      ...(await w.write(row, at, options.ifMatch)),
    }));
  }

  async delete(type: string, id: string): Promise<Tombstone | undefined> {
    return this.inWrite((w, at) => w.remove(type, id, at));
  }

  async ingest(resources: FhirResource[], texts?: string[]): Promise<IngestSummary> {
    const builder = new BatchBuilder();
    resources.forEach((r, i) => builder.add(requireId(r), texts?.[i]));
    return this.ingestPrepared(builder.build({ sortByKey: true }));
  }

  /** Commits each batch: `keepOpen` is not taken up (a transaction here spans one pooled connection). */
  async ingestPrepared(batch: PreparedBatch): Promise<IngestSummary> {
    if (batch.rows === 0) return { created: 0, updated: 0, unchanged: 0 };
    const summary = await this.writeBatch(batch);
    await this.maintainAfter(summary.created + summary.updated);
    return summary;
  }

  /** Nothing to do: `ingestPrepared` commits each batch. */
  async commitPrepared(): Promise<void> {}

  /**
   * Analyze once the rows written since the last time reach as many as were written before (and at
   * least MAINTAIN_MIN_ROWS): a few times over a bulk load. Autovacuum may be off or late, and without
   * statistics the planner can pick a full scan for a lookup by key. Vacuum waits for close: it visits
   * every new page, so vacuuming as the table doubles would read a bulk load twice over.
   */
  private async maintainAfter(rows: number): Promise<void> {
    this.written += rows;
    if (this.written - this.analyzedAt >= Math.max(MAINTAIN_MIN_ROWS, this.analyzedAt)) {
      this.analyzedAt = this.written;
      await this.db.query(`ANALYZE ${MAINTAINED_TABLES}`);
    }
  }

  /** Vacuum and analyze what this store wrote: set hint bits and the visibility map once, here, and not
   * in the first export, so counting and range planning read the indexes alone. */
  private async vacuum(): Promise<void> {
    this.vacuumedAt = this.analyzedAt = this.written;
    await this.db.query(`VACUUM (ANALYZE) ${MAINTAINED_TABLES}`);
  }

  private writeBatch(batch: PreparedBatch): Promise<IngestSummary> {
    return this.db.tx(async (client) => {
      const at = await tickClock(client, this.now());
      const writer = new PgWriter(this.db, client);
      const { summary, metExisting } = await writeBulk({
        db: this.db,
        client,
        writer,
        batch,
        at,
        expectNew: this.expectNew,
      });
      // A batch that met existing rows suggests a reload: the next one skips the attempt to copy all as new.
      this.expectNew = !metExisting;
      return summary;
    });
  }

  async search(query: SearchQuery): Promise<SearchPage> {
    return pgSearch(this.db, query);
  }

  async tick(): Promise<number> {
    return this.db.tx((client) => tickClock(client, this.now()));
  }

  scan(options: ScanOptions): AsyncIterable<ScanBatch> {
    return this.reader.scan(options);
  }

  async *scanTexts(options: ScanOptions): AsyncIterable<TextScanBatch> {
    // The rows of scan already hold each JSON as text; only the other columns are dropped.
    for await (const batch of this.reader.scan(options)) {
      yield { texts: batch.map((r) => r.json), cursor: batch.cursor };
    }
  }

  scanNdjson(options: ScanOptions): AsyncIterable<NdjsonChunk> {
    return this.reader.scanNdjson(options);
  }

  scanRows(options: ScanOptions): AsyncIterable<RawScanBatch> {
    return this.reader.scanRows(options);
  }

  deletedSince(options: DeletedOptions): AsyncIterable<Tombstone[]> {
    return pgDeletedSince(this.db, options);
  }

  patientBlocks(options: BlockOptions): AsyncIterable<PatientBlock> {
    return pgPatientBlocks(this.db, options);
  }

  readMembers(options: MemberOptions): AsyncIterable<MemberBatch> {
    return pgReadMembers(this.db, options);
  }

  async planRanges(type: string, rowsPerRange: number): Promise<{ count: number; bounds: ScanKey[] }> {
    return this.reader.planRanges(type, rowsPerRange);
  }

  async close(): Promise<void> {
    try {
      if (this.written - this.vacuumedAt >= MAINTAIN_MIN_ROWS) await this.vacuum();
    } finally {
      await this.db.close();
    }
  }
}

/**
 * Open (migrating if needed) the PostgreSQL store at a `postgres://` URL.
 * @throws StoreError when the database cannot be reached or migrated
 */
export function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  return PostgresStore.open(url, options);
}
