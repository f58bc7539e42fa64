import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { FhirResource } from '../../fhir/index.js';
import { StoreError } from '../../fhir/index.js';
import { migrate } from './schema.js';
import { SqliteReader } from './reader.js';
import { memberRidBoundsSqlite, readMemberRidsSqlite } from './member-rids.js';
import { readMembersSqlite } from './members.js';
import { SqliteJobStore } from './jobs.js';
import { SqliteAuthStore } from './auth.js';
import { sqliteSearch } from './search.js';
import { SqliteWriter } from './writer.js';
import { SqliteCheckpointer } from './checkpointer.js';
import { prepareRow } from '../prepared-row.js';
import { requireId } from '../write-check.js';
import { ReaderStore } from '../reader-store.js';
import { BatchBuilder } from '../prepared-batch.js';
import type { PreparedBatch } from '../prepared-batch.js';
import type {
  BlockOptions,
  DeletedOptions,
  IngestPreparedOptions,
  IngestSummary,
  MemberBatch,
  MemberOptions,
  MemberRidBatch,
  MemberRidOptions,
  NdjsonChunk,
  RawScanBatch,
  TextScanBatch,
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

/** Options for opening the embedded store. */
export interface SqliteStoreOptions {
  /** Open without write access (export workers). Skips migrations. */
  readonly?: boolean;
  /** Wall clock, injectable for tests. */
  now?: () => number;
  /** SQLite page cache of this connection, in MiB (default 16). */
  pageCacheMiB?: number;
}

// The loader's page cache is part of its peak RSS, bounded at 300 MiB (docs/benchmarks.md, "Memory"):
// 32 MiB still keeps the hot index pages between batches; 64 MiB cost its size in peak RSS.
const BULK_PAGE_CACHE_KIB = 32 * 1024;

/** The embedded store: one SQLite file in WAL mode (DESIGN.md §1). */
export class SqliteStore extends ReaderStore implements ResourceStore {
  readonly db: Database.Database;
  readonly jobs: SqliteJobStore;
  readonly auth: SqliteAuthStore;
  private readonly writer: SqliteWriter | undefined;
  private readonly checkpointer: SqliteCheckpointer | undefined;
  private bulk = false;
  /** A transaction of `ingestPrepared` batches is open, for `commitPrepared` to commit. */
  private held = false;
  protected readonly reader: SqliteReader;
  private readonly now: () => number;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    super();
    this.now = options.now ?? Date.now;
    try {
      this.db = new Database(path, {
        readonly: options.readonly ?? false,
        fileMustExist: options.readonly ?? false,
      });
    } catch (err) {
      throw new StoreError(`cannot open database ${path}`, { cause: err });
    }
    this.db.pragma('busy_timeout = 10000');
    if (!options.readonly) {
      try {
        // Only a new database takes this (an existing one keeps its page size). Rows of 1-4 KB pack
        // better in 16 KB pages, and a load writes and an export reads a quarter as many pages:
        // loading 300k resources took a fifth less CPU and scanning them a sixth less than with 4 KB.
        this.db.pragma('page_size = 16384');
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        this.db.pragma('wal_autocheckpoint = 20000');
        migrate(this.db);
      } catch (err) {
        this.db.close();
        throw notADatabase(path, err) ?? err;
      }
      this.writer = new SqliteWriter(this.db);
      if (path !== '' && !this.db.memory) this.checkpointer = new SqliteCheckpointer(this.db, path);
    }
    // 16 MiB by default: scans are sequential, and the server holds one connection per worker thread.
    this.db.pragma(`cache_size = -${Math.round((options.pageCacheMiB ?? 16) * 1024)}`);
    this.reader = new SqliteReader(this.db);
    this.jobs = new SqliteJobStore(this.db);
    this.auth = new SqliteAuthStore(this.db);
  }

  private get w(): SqliteWriter {
    if (!this.writer) throw new TypeError('store opened read-only');
    return this.writer;
  }

  /** Run `fn` in a write transaction that holds the write lock from its start. */
  private inWrite<T>(fn: (at: number) => T): T {
    // Loaded batches still open go first: a write never joins, nor waits on, a transaction of its own connection.
    this.commitHeld();
    try {
      return this.db.transaction(() => fn(this.w.tick(this.now()))).immediate();
    } catch (err) {
      throw writeError(err);
    }
  }

  async create(resource: FhirResource): Promise<WriteResult> {
    const row = prepareRow({ ...resource, id: randomUUID() });
    return this.inWrite((at) => ({ type: row.type, id: row.id, ...this.w.write(row, at) }));
  }

  async update(resource: FhirResource, options: { ifMatch?: number } = {}): Promise<WriteResult> {
    const row = prepareRow(requireId(resource));
    return this.inWrite((at) => ({ type: row.type, id: row.id, ...this.w.write(row, at, options.ifMatch) }));
  }

  async delete(type: string, id: string): Promise<Tombstone | undefined> {
    return this.inWrite((at) => this.w.remove(type, id, at));
  }

  async ingest(resources: FhirResource[], texts?: string[]): Promise<IngestSummary> {
    const builder = new BatchBuilder();
    resources.forEach((r, i) => builder.add(requireId(r), texts?.[i]));
    const batch = builder.build();
    return this.inWrite((at) => this.w.writeBatch(batch, at));
  }

  /**
   * `ingest` for the loader. The first call puts the connection in bulk mode for the rest of its life:
   * a larger page cache, which keeps the randomly written index pages between batches (loading 1M
   * resources took a sixth less CPU than with 16 MiB), and WAL checkpoints on a thread of their own.
   */
  async ingestPrepared(batch: PreparedBatch, options: IngestPreparedOptions = {}): Promise<IngestSummary> {
    if (!this.bulk) {
      this.bulk = true;
      this.db.pragma(`cache_size = -${BULK_PAGE_CACHE_KIB}`);
    }
    let summary: IngestSummary;
    try {
      if (!this.held) {
        this.db.exec('BEGIN IMMEDIATE');
        this.held = true;
      }
      summary = this.w.writeBatch(batch, this.w.tick(this.now()));
    } catch (err) {
      // The batch's rows must not reach a commit: nor may the batches it would have joined.
      this.held = false;
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw writeError(err);
    }
    if (!options.keepOpen) this.commitHeld();
    return summary;
  }

  /**
   * Several batches in one transaction write the randomly keyed index pages (the `(type, id)` key,
   * the compartment) to the WAL once per transaction instead of once per batch, and the checkpoint
   * thread copies them once: loading 1M generated resources in transactions of 64 MiB of batches
   * wrote 4.4 GB to disk instead of 12-13 GB, and took 31.5-34.4 s of CPU instead of 39.2-40.3 s
   * (runs alternated with the build that committed each batch, 2 shared cores).
   */
  async commitPrepared(): Promise<void> {
    this.commitHeld();
  }

  private commitHeld(): void {
    if (!this.held) return;
    this.held = false;
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw writeError(err);
    }
    this.checkpointer?.afterCommit();
  }

  async search(query: SearchQuery): Promise<SearchPage> {
    return sqliteSearch(this.db, query);
  }

  async tick(): Promise<number> {
    return this.inWrite((at) => at);
  }

  async *scan(options: ScanOptions): AsyncIterable<ScanBatch> {
    yield* this.reader.scan(options);
  }

  async *scanNdjson(options: ScanOptions, onText?: (json: string) => void): AsyncIterable<NdjsonChunk> {
    yield* this.reader.scanNdjson(options, onText);
  }

  async *scanRows(options: ScanOptions): AsyncIterable<RawScanBatch> {
    yield* this.reader.scanRows(options);
  }

  async *scanTexts(options: ScanOptions): AsyncIterable<TextScanBatch> {
    yield* this.reader.scanTexts(options);
  }

  async *deletedSince(options: DeletedOptions): AsyncIterable<Tombstone[]> {
    yield* this.reader.deletedSince(options);
  }

  async *patientBlocks(options: BlockOptions): AsyncIterable<PatientBlock> {
    yield* this.reader.patientBlocks(options);
  }

  async *readMembers(options: MemberOptions): AsyncIterable<MemberBatch> {
    yield* readMembersSqlite(this.db, options);
  }

  async memberRidBounds(
    members: string[],
    ranges: (rows: number) => number,
  ): Promise<{ rows: number; bounds: number[] }> {
    return memberRidBoundsSqlite(this.db, members, ranges);
  }

  async *readMemberRids(options: MemberRidOptions): AsyncIterable<MemberRidBatch> {
    yield* readMemberRidsSqlite(this.db, options);
  }

  async planRanges(type: string, rowsPerRange: number): Promise<{ count: number; bounds: ScanKey[] }> {
    const count = this.reader.count(type);
    return { count, bounds: count > rowsPerRange ? this.reader.rangeBoundaries(type, rowsPerRange) : [] };
  }

  /** Batches `ingestPrepared` left open and no one committed are rolled back. */
  async close(): Promise<void> {
    if (this.held && this.db.open) {
      this.held = false;
      this.db.exec('ROLLBACK');
    }
    await this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }
}

/** Open (creating and migrating if needed) the embedded SQLite store at `path`. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(path, options);
}

/** A driver error of a write as a `StoreError` (retryable when the database was busy); others as they are. */
function writeError(err: unknown): unknown {
  if (err instanceof Error && 'code' in err && String(err.code).startsWith('SQLITE_')) {
    return new StoreError('database write failed', { cause: err, retryable: err.code === 'SQLITE_BUSY' });
  }
  return err;
}

/**
 * SQLite's answer for a file that is not a database (or is damaged), as a message naming the file and
 * the fix. SQLite's own words are in the message; no `cause`, which the CLI would print a second time.
 */
function notADatabase(path: string, err: unknown): StoreError | undefined {
  const code = (err as { code?: unknown }).code;
  if (code !== 'SQLITE_NOTADB' && code !== 'SQLITE_CORRUPT') return undefined;
  return new StoreError(
    `${path} is not a fhirhose database (SQLite: ${(err as Error).message}); give --db the path of a ` +
      'fhirhose database, or a new file name to create one',
  );
}
