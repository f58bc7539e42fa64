import type { FhirResource } from '../fhir/index.js';
import type { JobStore } from './job-types.js';
import type { AuthStore } from './auth-types.js';
import type { PreparedBatch } from './prepared-batch.js';

/** Milliseconds since the epoch: the store's clock unit. Every instant the store hands out is one of these. */
export type Millis = number;

/** One stored resource version, with its JSON text exactly as it will be exported. */
export interface StoredResource {
  type: string;
  id: string;
  versionId: number;
  lastUpdated: Millis;
  /** The resource as JSON text, with meta.versionId and meta.lastUpdated set. */
  json: string;
}

/** What a write did. `unchanged` means the content equalled the current version, so no version was made. */
export type WriteOutcome = 'created' | 'updated' | 'unchanged';

/** The result of one resource write. */
export interface WriteResult extends StoredResource {
  outcome: WriteOutcome;
}

/** Result of a read: the current version, a tombstone, or nothing. */
export type ReadResult =
  | { status: 'found'; resource: StoredResource }
  | { status: 'deleted'; type: string; id: string; versionId: number; deletedAt: Millis }
  | { status: 'missing' };

/** A deletion record. */
export interface Tombstone {
  type: string;
  id: string;
  /** The version number the deletion took. */
  versionId: number;
  deletedAt: Millis;
}

/** Summary of a batch ingest. */
export interface IngestSummary {
  created: number;
  updated: number;
  unchanged: number;
}

/** A date comparison for `_lastUpdated`. Bounds are inclusive or exclusive as the prefix says. */
export interface DateComparison {
  prefix: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le' | 'sa' | 'eb';
  /** The half-open range [start, end) that the searched value denotes at its precision. */
  start: Millis;
  end: Millis;
}

/** A REST search the store can answer. Each field narrows the result (AND); values inside one field are OR'd. */
export interface SearchQuery {
  type: string;
  ids?: string[];
  lastUpdated?: DateComparison[];
  /** Reference search params (`patient`, `subject`): each target is `Patient/id`. */
  references?: { param: string; targets: string[] }[];
  /** Group or ViewDefinition `name` (starts-with, case-insensitive; `exact` for equality). */
  name?: { values: string[]; exact: boolean };
  /** ViewDefinition canonical `url`, each with an optional `version` that must match too. */
  url?: { url: string; version?: string }[];
  /** ViewDefinition `status` codes. */
  status?: string[];
  /** Group `identifier` as `system|value`, `|value` or `value`. */
  identifier?: string[];
  /** Page size. */
  count: number;
  /** Opaque keyset cursor from a previous page. */
  cursor?: string;
  /** Count every match too (`SearchPage.total`): a query of its own, so only when a client asks. */
  total?: boolean;
}

/** One page of search results. */
export interface SearchPage {
  resources: StoredResource[];
  /** Cursor for the next page, when there is one. */
  next?: string;
  /** Total matches, when the query asked for them (`SearchQuery.total`). */
  total?: number;
}

/** Options for a snapshot scan of one resource type. */
export interface ScanOptions {
  type: string;
  /** Read the data as it was at this instant (the export's transactionTime). */
  asOf: Millis;
  /** Only versions with lastUpdated > since. */
  since?: Millis;
  /** Only versions with lastUpdated < until. */
  until?: Millis;
  /** Restrict to the Patient compartment: of these patient ids, or of any patient ('all'). */
  patients?: string[] | 'all';
  /** Only these ids. */
  ids?: string[];
  /** Key range: strictly after this key... */
  after?: ScanKey;
  /** ...and up to and including this key. */
  upTo?: ScanKey;
  /** Upper bound on the bytes of JSON per yielded batch. */
  batchBytes?: number;
}

/**
 * A batch of a scan, with where the scan stands after it: the key of its last row. `scan` reads
 * current and superseded versions merged in key order, so a scan with `after` set to a batch's cursor
 * reads exactly the rest, even after writes moved versions to history (a checkpointed unit).
 */
export type ScanBatch = StoredResource[] & { cursor: ScanKey };

/** Scanned resources as NDJSON: each one's stored JSON as UTF-8, newline-terminated. */
export interface NdjsonChunk {
  rows: number;
  bytes: Buffer;
  /** True when every row of the chunk went to the scan's `onText` as it was read. */
  textsSeen?: boolean;
  /** Hand the buffer back to the producer for reuse, once nothing refers to `bytes` any more. */
  release?: () => void;
}

/** A batch of a scan as each row's stored JSON (UTF-8), with where the scan stands after it. */
export interface RawScanBatch {
  rows: Buffer[];
  /** The key of the last row read: a scan with `after` set to it reads exactly the rest. */
  cursor: ScanKey;
  /**
   * Hand the rows' memory back to the producer for the next batch, once nothing refers to any row any
   * more (the rows may be views of one buffer); a consumer that never calls it leaves it to the collector.
   */
  release?: () => void;
}

/** A batch of a scan as each row's stored JSON text, with where the scan stands after it. */
export interface TextScanBatch {
  texts: string[];
  /** The key of the last row read: a scan with `after` set to it reads exactly the rest. */
  cursor: ScanKey;
}

/** One resource by type and id. */
export interface ResourceKey {
  type: string;
  id: string;
}

/** A position in the (lastUpdated, id) order of one type. */
export interface ScanKey {
  lastUpdated: Millis;
  id: string;
}

/** Options for reading Patient-compartment blocks (organizeOutputBy=Patient). */
export interface BlockOptions {
  /** Patient ids, one block each, in this order. */
  patients: string[];
  asOf: Millis;
  since?: Millis;
  until?: Millis;
  /** Resource types to include (the Patient itself included when listed); undefined for all. */
  types?: string[];
}

/** One patient's block: the Patient resource (if it matches) and the resources in its compartment. */
export interface PatientBlock {
  patientId: string;
  resources: StoredResource[];
}

/**
 * Options for reading the Patient compartments of an export's members (a Group or `patient=` list)
 * through the compartment index, instead of scanning every row of each type.
 */
export interface MemberOptions {
  /** The patients to read (a unit's share of the members); read in id order. */
  patients: string[];
  /**
   * Every patient of the export. A resource in the compartments of several of them is read only for
   * the lowest (in id order), so units that split the members never write it twice.
   */
  members: string[];
  /** Resource types to read; `Patient` reads the members' own Patient resources. */
  types: string[];
  asOf: Millis;
  since?: Millis;
  until?: Millis;
  /** Resume after this patient (a checkpoint): only the patients after it are read. */
  afterPatient?: string;
  /** Patients per batch (each batch is read in one snapshot); a default suits about 50 rows each. */
  batchPatients?: number;
  /**
   * Also read the Provenance (type `Provenance` in the batches) with a target in the export: a target
   * of one of `types` that is a member Patient or lies in a member's compartment (in the current data).
   * A Provenance is read once, in the batch of the lowest member among its targets' patients.
   */
  provenance?: boolean;
}

/** One batch of members read: each type's rows as NDJSON, and the last patient the batch covers. */
export interface MemberBatch {
  lastPatient: string;
  types: Map<string, { rows: number; bytes: Buffer }>;
}

/**
 * What `ResourceStore.readMemberRids` reads: the rows of the members' compartments (and the members'
 * own Patient rows) whose row id lies in `after < rid <= upTo`, in row id order.
 */
export interface MemberRidOptions {
  /** Every patient of the export. */
  members: string[];
  /** Resource types to read; `Patient` reads the members' own Patient resources. */
  types: string[];
  asOf: Millis;
  since?: Millis;
  until?: Millis;
  /** The range's start (exclusive); a checkpoint's last row id to resume after it. */
  after: number;
  /** The range's end (inclusive); none for the last range. */
  upTo?: number;
  /** Row ids per batch (each batch is read in one snapshot); a default suits rows of about 1 KB. */
  batchRows?: number;
  /** Also read the versions superseded before row ids were kept with them (the first range does). */
  unkeyedHistory?: boolean;
  /**
   * Also find the `relevant` Provenance current at `asOf` with a target (of `types`) among the rows
   * read, in the current data, and judge superseded Provenance versions in the range by their own
   * targets: their ids come with each batch. A Provenance found by several ranges is found by each.
   */
  provenance?: boolean;
}

/** One batch of a member range: each type's rows as NDJSON, and the last row id it covers. */
export interface MemberRidBatch {
  lastRid: number;
  /** Each type's rows of the batch as one NDJSON chunk. */
  types: Map<string, NdjsonChunk>;
  /** With `provenance`: the ids of the Provenance found. */
  provenanceIds: string[];
}

/** Options for listing deletions. */
export interface DeletedOptions {
  type: string;
  since: Millis;
  asOf: Millis;
  until?: Millis;
  /** Restrict to resources that were in the Patient compartment (of these ids, or of any patient). */
  patients?: string[] | 'all';
}

/** Options of `ResourceStore.ingestPrepared`. */
export interface IngestPreparedOptions {
  /** Leave the transaction open for the batches that follow (a store may commit anyway). */
  keepOpen?: boolean;
}

/** The resource store: one interface, one implementation per database (DESIGN.md §1). */
export interface ResourceStore {
  /** Create a resource with a server-assigned id. */
  create(resource: FhirResource): Promise<WriteResult>;
  /** Create or update a resource at its own id; `ifMatch` is a versionId for optimistic locking. */
  update(resource: FhirResource, options?: { ifMatch?: number }): Promise<WriteResult>;
  /** Delete a resource, leaving a tombstone. Returns undefined when there was nothing to delete. */
  delete(type: string, id: string): Promise<Tombstone | undefined>;
  /**
   * Write many resources in one transaction; unchanged content makes no version.
   * `texts[i]`, when given, is the JSON text `resources[i]` was parsed from (saves a serialization).
   */
  ingest(resources: FhirResource[], texts?: string[]): Promise<IngestSummary>;
  /**
   * `ingest` for a batch prepared elsewhere (the loader prepares them on a worker thread). With
   * `keepOpen`, a store may leave the batch in an open transaction that later batches join; they are
   * committed together by `commitPrepared` (or the next call without `keepOpen`). A batch that fails
   * rolls back every batch of its transaction, so a transaction never holds part of a batch.
   */
  ingestPrepared(batch: PreparedBatch, options?: IngestPreparedOptions): Promise<IngestSummary>;
  /** Commit the batches `ingestPrepared` left open; nothing when there are none. */
  commitPrepared(): Promise<void>;
  /** Read the current version. */
  read(type: string, id: string): Promise<ReadResult>;
  /** Read one version, current or historical. */
  readVersion(type: string, id: string, versionId: number): Promise<StoredResource | undefined>;
  /** Search current versions. */
  search(query: SearchQuery): Promise<SearchPage>;
  /** Allocate an instant strictly after every committed write, and before every later one. */
  tick(): Promise<Millis>;
  /** The resource types that have at least one current resource. */
  types(): Promise<string[]>;
  /** The resource types that have at least one tombstone. */
  deletedTypes(): Promise<string[]>;
  /**
   * Count current resources of a type (as of now), exactly: the planner weighs a patient list against
   * the Patients and sizes a `latest` Provenance unit with it.
   */
  count(type: string): Promise<number>;
  /** Stream the versions current at `asOf`, in (lastUpdated, id) order, in batches bounded by bytes. */
  scan(options: ScanOptions): AsyncIterable<ScanBatch>;
  /**
   * `scan` as NDJSON bytes, for output that is copied without parsing. A store that reads each row as
   * text passes it to `onText` before copying it (and marks its chunks `textsSeen`), so a caller that
   * searches the output reads the text it already has instead of decoding the bytes again; a store
   * that copies bytes it never decodes (PostgreSQL's COPY) ignores `onText`.
   */
  scanNdjson(options: ScanOptions, onText?: (json: string) => void): AsyncIterable<NdjsonChunk>;
  /**
   * `scan` as each row's stored UTF-8 bytes, for filters and projections that look at the bytes
   * before (or instead of) parsing them.
   */
  scanRows(options: ScanOptions): AsyncIterable<RawScanBatch>;
  /** `scan` as each row's stored JSON text only, for readers that parse it and need nothing else (view units). */
  scanTexts(options: ScanOptions): AsyncIterable<TextScanBatch>;
  /** Tombstones with since < deletedAt <= asOf (and < until), for resources that were not recreated by asOf. */
  deletedSince(options: DeletedOptions): AsyncIterable<Tombstone[]>;
  /** Blocks of the Patient compartment, as they were at `asOf`; patients with nothing to show are skipped. */
  patientBlocks(options: BlockOptions): AsyncIterable<PatientBlock>;
  /**
   * The versions current at `asOf` (and within since/until) in the compartments of `patients`, as the
   * type scan with a patient list would read them, in batches of patients, each resource once per export.
   */
  readMembers(options: MemberOptions): AsyncIterable<MemberBatch>;
  /**
   * The rows of the compartments of `members` (estimated from a sample of them), and the row ids that
   * cut them into `ranges(rows)` ranges of about even rows, for stores that read members by row id
   * ranges; a store without `readMemberRids` has none.
   */
  memberRidBounds?(
    members: string[],
    ranges: (rows: number) => number,
  ): Promise<{ rows: number; bounds: number[] }>;
  /**
   * The members' rows of one row id range, in row id order, in batches each read in one snapshot:
   * a version is read in the batch covering its row's id, whether it is still current or was
   * superseded meanwhile, so ranges that split the members never read a row twice.
   */
  readMemberRids?(options: MemberRidOptions): AsyncIterable<MemberRidBatch>;
  /** Ids of the Patients current at `asOf`, in id order. */
  patientIds(asOf: Millis): Promise<string[]>;
  /** Flattened Patient members of a Group (nested Groups followed, cycles guarded, inactive skipped). */
  groupPatients(groupId: string): Promise<string[]>;
  /** The patient ids whose compartment holds this resource. */
  compartmentsOf(type: string, id: string): Promise<string[]>;
  /**
   * `compartmentsOf` for many resources in a few queries: keyed `type/id`, each with its patient ids
   * in id order; a resource in no compartment (or not stored) has no entry.
   */
  compartmentsOfMany(refs: readonly ResourceKey[]): Promise<Map<string, string[]>>;
  /**
   * What the planner asks of each type: its row count, and keys that split its current rows into
   * ranges of about `rowsPerRange` rows. A store may estimate both where that is much cheaper
   * (PostgreSQL on large tables); the ranges still cover every row.
   */
  planRanges(type: string, rowsPerRange: number): Promise<{ count: number; bounds: ScanKey[] }>;
  /** Export job state, kept in the same database. */
  readonly jobs: JobStore;
  /** SMART Backend Services clients, signing keys and replay cache, kept in the same database. */
  readonly auth: AuthStore;
  /** Release connections. */
  close(): Promise<void>;
}
