import type { ElementsSpec, RawPrecheck, ResourcePredicate } from '../fhir/index.js';
import {
  ATTACHMENT_TYPES,
  compileTypeFilterPrechecks,
  compileTypeFilters,
  hasRelativeUrl,
  parseElements,
} from '../fhir/index.js';
import type {
  JobRecord,
  NewUnit,
  ResourceStore,
  ScanKey,
  ScanOptions,
  StoredResource,
  UnitRecord,
} from '../store/index.js';
import type { FileStorage } from '../storage/index.js';
import { NdjsonSeries } from '../storage/index.js';
import { resolveChunk, resolveLine } from './attachment-urls.js';
import { addRowLines, lineOf, rowChunkFiller } from './row-lines.js';
import type { LineOptions } from './row-lines.js';
import type { ExportReadPath } from './config.js';
import type { ExportRequest } from './types.js';
import { decodeExportRequest } from './job-codec.js';
import type { FileKind, UnitCheckpoint, UnitFile, UnitSpec } from './unit-spec.js';
import type { RefCollector } from './ref-collector.js';

// What every kind of unit shares: its context, the compiled request, and the NDJSON output helpers.

/** What a unit needs from its surroundings. */
export interface UnitContext {
  store: ResourceStore;
  storage: FileStorage;
  /** Bytes after which an output file is closed and a new one begun. */
  fileMaxBytes: number;
  /** Called after each batch with rows read; resolves false when the unit must stop (cancel, lost lease). */
  progress: (rows: number) => Promise<boolean>;
  /** Split a type into units of about this many rows. */
  rowsPerUnit: number;
  /** How Group and patient-list exports read the store (ExportConfig.readPath); `auto` when unset. */
  readPath?: ExportReadPath;
  /** Patients per batch of a members unit (its checkpoint granularity); unset, the store's default. */
  memberBatchPatients?: number;
  /** Row ids per batch of a member range (tests set it low to cut many batches); a store default if unset. */
  memberBatchRows?: number;
  /** Store the units a planning unit made; resolves false when its lease was lost. */
  savePlan: (units: NewUnit[]) => Promise<boolean>;
  /** Asked between batches of a resumable scan: true when the unit should checkpoint and yield now. */
  yieldNow: () => Promise<boolean>;
  /** Store a checkpoint and give the unit back to the queue; resolves false when its lease was lost. */
  saveCheckpoint: (checkpoint: UnitCheckpoint) => Promise<boolean>;
  /** The server's base URL: relative `Attachment.url` values are resolved against it; unset, kept. */
  baseUrl?: string;
  /**
   * Filter and project on the stored bytes where the store can hand them over (default true); false
   * parses every row, so tests can compare the two paths.
   */
  rawRows?: boolean;
}

/** Thrown when a unit stops early because its job was cancelled or its lease lost. */
export class UnitStoppedError extends Error {
  override name = 'UnitStoppedError';
}

/** Thrown when a unit checkpointed and gave its worker to another client's work (fair sharing). */
export class UnitYieldedError extends UnitStoppedError {
  override name = 'UnitYieldedError';
}

/** The parts of a request compiled once per job and reused by its units. */
export interface CompiledRequest {
  request: ExportRequest;
  filters: Map<string, ResourcePredicate>;
  /** Per type, a test on a row's bytes that rejects rows its filter cannot match, before parsing. */
  prechecks?: Map<string, RawPrecheck>;
  elements: ElementsSpec | undefined;
  patients: string[] | 'all' | undefined;
}

/**
 * One run of a leased unit, built once by the work loop and passed whole to the runner, each unit kind
 * and provenance: its context, job, compiled request, record, and its spec and checkpoint (decoded
 * once, job-codec.ts). `K` narrows the spec to one kind.
 */
export interface UnitRun<K extends UnitSpec['kind'] = UnitSpec['kind']> {
  ctx: UnitContext;
  job: JobRecord;
  compiled: CompiledRequest;
  unit: UnitRecord;
  spec: Extract<UnitSpec, { kind: K }>;
  /** Where a unit that yielded part-way resumes; undefined when it starts afresh. */
  checkpoint: UnitCheckpoint | undefined;
}

/**
 * Compile the filters of a job's request.
 * @throws CorruptJobError when the stored request does not decode
 */
export async function compileRequest(store: ResourceStore, job: JobRecord): Promise<CompiledRequest> {
  const request = decodeExportRequest(job.request);
  const filters = compileTypeFilters(request.typeFilters, { now: job.transactionTime });
  const prechecks = compileTypeFilterPrechecks(request.typeFilters);
  const elements = request.elements.length > 0 ? parseElements(request.elements) : undefined;
  let patients: CompiledRequest['patients'];
  if (request.level === 'group' || request.patients || request.view?.byPatients)
    patients = await store.jobs.jobPatients(job.id);
  else if (request.level === 'patient') patients = 'all';
  return { request, filters, prechecks, elements, patients };
}

/** An NDJSON file series for one kind of output of a unit. */
export function series(
  run: Pick<UnitRun, 'ctx' | 'job' | 'unit'>,
  kind: FileKind,
  type: string,
  segment = 0,
): NdjsonSeries {
  const { ctx, job, unit } = run;
  const tag = kind === 'output' ? type : `${kind}-${type}`;
  return new NdjsonSeries({
    storage: ctx.storage,
    jobId: job.id,
    maxBytes: ctx.fileMaxBytes,
    nameFor: (n) => `${segmentPrefix(unit.seq, segment)}${tag}.${n}.ndjson`,
  });
}

/**
 * The name prefix of the files a unit writes in one segment (the part after its `segment`-th
 * checkpoint). Segment 0's prefix covers every segment's files, which a fresh start removes.
 */
export function segmentPrefix(seq: number, segment: number): string {
  return segment === 0 ? `${seq}.` : `${seq}.s${segment}.`;
}

/** Commit a series and describe its files. */
export async function finish(out: NdjsonSeries, kind: FileKind, type: string): Promise<UnitFile[]> {
  return (await out.close()).map((f) => ({ kind, type, name: f.name, count: f.count, bytes: f.bytes }));
}

export type { LineOptions } from './row-lines.js';

/** Turn stored rows into output lines, parsing only when a filter, projection or relative URL needs it. */
export function toLines(batch: StoredResource[], options: LineOptions): string[] {
  const { filter, elements, baseUrl } = options;
  if (!filter && !elements) {
    if (baseUrl === undefined) return batch.map((r) => r.json);
    return batch.map((r) =>
      ATTACHMENT_TYPES.has(r.type) && hasRelativeUrl(r.json)
        ? (resolveLine(r.json, baseUrl) ?? r.json)
        : r.json,
    );
  }
  const lines: string[] = [];
  for (const row of batch) {
    const line = lineOf(row.json, options);
    if (line !== undefined) lines.push(line);
  }
  return lines;
}

// Under V8's large-object size, so a piece dies young instead of waiting for a full collection.
const PIECE_BYTES = 64 * 1024;
const PARSE_BATCH_BYTES = 128 * 1024;
// Most rows of a pre-checked or byte-projected scan make no object: bigger batches, fewer round trips.
const ROWS_BATCH_BYTES = 256 * 1024;

function batchBytesOf(rows: readonly Buffer[]): number {
  let bytes = 0;
  for (const row of rows) bytes += row.length + 1;
  return bytes;
}

/**
 * NDJSON bytes as latin1 strings of whole lines, each at most about 64 KiB. References are ASCII, and
 * no byte of a multi-byte UTF-8 sequence is, so latin1 is exact for finding them.
 */
export function* latin1Pieces(bytes: Buffer): Generator<string> {
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.length;
    if (end - start > PIECE_BYTES) {
      const cut = bytes.lastIndexOf(0x0a, start + PIECE_BYTES);
      // A line longer than a piece is taken whole.
      end = cut >= start ? cut + 1 : bytes.indexOf(0x0a, start + PIECE_BYTES) + 1 || bytes.length;
    }
    yield bytes.toString('latin1', start, end);
    start = end;
  }
}

/** What a pump tells its unit: what it wrote, and whether to stop at a checkpoint now. */
export interface PumpHooks {
  /**
   * Collects the supporting references of the output. A copied row is searched as the text the store
   * read it as, where the store reads text (SQLite): decoding the output again made a latin1 string of
   * every byte written, the main garbage of a Patient export (measured: see docs/benchmarks.md).
   */
  refs?: RefCollector;
  /** Called after the references of each chunk were collected (to store them when many are held). */
  afterRefs?: () => Promise<void>;
  pause?: () => Promise<boolean>;
}

/** Collect the references of output bytes the store did not hand over as text. */
async function collectRefs(hooks: PumpHooks, bytes: Buffer, textsSeen = false): Promise<void> {
  const { refs, afterRefs } = hooks;
  if (!refs) return;
  if (!textsSeen) refs.scan(bytes);
  await afterRefs?.();
}

/**
 * Copy a scan to a series, filtered and projected, with progress and stop checks. With `pause`, a
 * parsed scan stops between batches when it answers true, and the cursor to resume from is returned
 * (the byte-copy path never pauses: its units are bounded in rows and run at disk speed).
 */
export async function pump(
  run: Pick<UnitRun, 'ctx' | 'compiled'>,
  options: ScanOptions,
  out: NdjsonSeries,
  hooks: PumpHooks = {},
): Promise<ScanKey | undefined> {
  const { ctx, compiled } = run;
  const { refs, pause } = hooks;
  const filter = compiled.filters.get(options.type);
  const copyBytes = !filter && !compiled.elements;
  try {
    if (copyBytes) {
      // Attachment URLs resolved in a copy are no references: the stored text has the same ones.
      const onText = refs ? (json: string): void => refs.scanText(json) : undefined;
      for await (const chunk of ctx.store.scanNdjson(options, onText)) {
        const resolved =
          ctx.baseUrl === undefined ? undefined : resolveChunk(chunk.bytes, options.type, ctx.baseUrl);
        // A resolved copy no longer needs the stored buffer: it goes back to the producer at once.
        if (resolved) chunk.release?.();
        const bytes = resolved ?? chunk.bytes;
        const release = resolved ? undefined : chunk.release;
        // Read before the write, so the buffer can go back to the producer once written.
        await collectRefs(hooks, bytes, chunk.textsSeen);
        await out.writeChunk(bytes, chunk.rows, release);
        if (!(await ctx.progress(chunk.rows))) throw new UnitStoppedError('unit stopped');
      }
      return undefined;
    }
    if (ctx.rawRows !== false) {
      return await pumpRows(run, options, out, hooks);
    }
    // Parsed batches make many objects per byte: small ones let them die in the young generation.
    for await (const batch of ctx.store.scan({ batchBytes: PARSE_BATCH_BYTES, ...options })) {
      const lines = toLines(batch, { filter, elements: compiled.elements, baseUrl: ctx.baseUrl });
      await out.writeLines(lines);
      if (refs) await collectRefs(hooks, Buffer.from(lines.join('\n')));
      if (!(await ctx.progress(batch.length))) throw new UnitStoppedError('unit stopped');
      if (pause && (await pause())) return batch.cursor;
    }
    return undefined;
  } catch (err) {
    await out.abort();
    throw err;
  }
}

/** pump's byte-row path: rows pre-checked or projected on their bytes, parsed only where needed. */
async function pumpRows(
  run: Pick<UnitRun, 'ctx' | 'compiled'>,
  options: ScanOptions,
  out: NdjsonSeries,
  hooks: PumpHooks,
): Promise<ScanKey | undefined> {
  const { ctx, compiled } = run;
  const rowOptions = {
    type: options.type,
    filter: compiled.filters.get(options.type),
    precheck: compiled.prechecks?.get(options.type),
    elements: compiled.elements,
    baseUrl: ctx.baseUrl,
  };
  // Output chunks span batches (a projection is a fraction of its rows), so few are in flight.
  const filler = rowChunkFiller(ROWS_BATCH_BYTES);
  const flush = async (): Promise<void> => {
    const chunk = filler.take();
    if (!chunk) return;
    // Read before the write, so the buffer can go back to be filled again once written.
    await collectRefs(hooks, chunk.bytes);
    await out.writeChunk(chunk.bytes, chunk.rows, chunk.release);
  };
  for await (const batch of ctx.store.scanRows({ batchBytes: ROWS_BATCH_BYTES, ...options })) {
    // A batch's output is at most about its rows' bytes: flushed first if that might not fit.
    if (filler.bytes + batchBytesOf(batch.rows) > filler.capacity) await flush();
    addRowLines(filler, batch.rows, rowOptions);
    // The lines were copied or projected into the filler's chunk: the rows' buffer can be filled again.
    batch.release?.();
    if (!(await ctx.progress(batch.rows.length))) throw new UnitStoppedError('unit stopped');
    if (hooks.pause && (await hooks.pause())) {
      await flush();
      return batch.cursor;
    }
  }
  await flush();
  return undefined;
}
