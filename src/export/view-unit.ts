import type { MemberOptions, ScanKey, ScanOptions } from '../store/index.js';
import { createEncoder, DEFAULT_ROW_GROUP_BYTES } from '../tables/index.js';
import { createViewRunner } from '../views/index.js';
import type { RowValues, ViewRunner } from '../views/index.js';
import { TableSeries } from './table-series.js';
import type { UnitContext, UnitRun } from './unit-context.js';
import { segmentPrefix, UnitStoppedError, UnitYieldedError } from './unit-context.js';
import type { UnitCheckpoint, UnitFile, UnitResult, UnitSpec } from './unit-spec.js';
import { tableExtension } from './view-request.js';

// Parsed batches make many objects per byte: small ones let them die in the young generation.
const PARSE_BATCH_BYTES = 128 * 1024;
/**
 * Bound on a Parquet row group, counted as the encoder's estimate of its heap bytes. Two workers each
 * hold one: at 8 MiB the server peaked over 300 MB at 1M; at the encoder's 2 MiB default it stayed
 * under 250 MB (docs/benchmarks.md, the views scenario). Half that here: a buffered group outlives
 * the threads' small young generation, and in a worker with it 1 MiB cost 13.8 µs CPU per
 * Observation (median of five, 12.8-15.4) against 14.8 (13.7-16.0) at 2 MiB; files 2% larger.
 */
const ROW_GROUP_BYTES = DEFAULT_ROW_GROUP_BYTES / 2;

/** A batch of view rows and where the read stands after it. */
interface RowBatch {
  /** Rows as values in column order. */
  rows: RowValues[];
  /** Resources read. */
  read: number;
  after?: ScanKey;
  afterPatient?: string;
}

/**
 * Write the rows of one view over one key range of its type, or over a share of the job's patients,
 * as table files named `<seq>.[s<segment>.]<view name>.<n>.<ext>` (the result names them
 * `<view name>.part<k>.<ext>`). Between batches the unit may checkpoint and give its worker back.
 */
export async function runViewUnit(run: UnitRun<'view'>): Promise<UnitResult> {
  const { ctx, job, unit, checkpoint, spec } = run;
  const options = run.compiled.request.view;
  const view = options?.views[spec.view];
  if (!options || !view) throw new TypeError(`view unit ${unit.seq} names no view of its job`);
  const runner = createViewRunner(view.definition);
  const segment = checkpoint?.segment ?? 0;
  const ext = tableExtension(options.format);
  const out = new TableSeries({
    storage: ctx.storage,
    jobId: job.id,
    maxBytes: ctx.fileMaxBytes,
    nameFor: (n) => `${segmentPrefix(unit.seq, segment)}${view.name}.${n}.${ext}`,
    // A row group is at most a quarter of a file, so a file ends at most that far past maxBytes.
    encoder: () =>
      createEncoder(options.format, runner.columns, {
        header: options.header,
        rowGroupBytes: Math.min(ROW_GROUP_BYTES, Math.max(1024, ctx.fileMaxBytes >> 2)),
      }),
  });
  let paused: RowBatch | undefined;
  try {
    for await (const batch of rowBatches(ctx, run, spec, runner)) {
      await out.writeValues(batch.rows);
      if (!(await ctx.progress(batch.read))) throw new UnitStoppedError('unit stopped');
      if (await ctx.yieldNow()) {
        paused = batch;
        break;
      }
    }
  } catch (err) {
    await out.abort();
    throw err;
  }
  // A view's first unit leaves at least one file, so an empty table still has its header or schema.
  if (spec.first && !paused && (checkpoint?.files.length ?? 0) === 0) await out.ensureFile();
  const files: UnitFile[] = [...(checkpoint?.files ?? [])];
  for (const f of await out.close()) files.push({ kind: 'output', type: spec.type, ...f });
  if (!paused) return { files };
  const next: UnitCheckpoint = { segment: segment + 1, files };
  if (paused.after) next.after = paused.after;
  if (paused.afterPatient !== undefined) next.afterPatient = paused.afterPatient;
  if (!(await ctx.saveCheckpoint(next))) throw new UnitStoppedError('lease lost at a checkpoint');
  throw new UnitYieldedError('checkpointed to let another client run');
}

/** The view's rows batch by batch, from a key range scan or from the members' compartments. */
async function* rowBatches(
  ctx: UnitContext,
  run: UnitRun<'view'>,
  spec: UnitSpec & { kind: 'view' },
  runner: ViewRunner,
): AsyncGenerator<RowBatch> {
  const { job, compiled, checkpoint } = run;
  const since = compiled.request.since;
  if (spec.patients !== undefined) {
    if (spec.patients.length === 0) return;
    if (!Array.isArray(compiled.patients)) throw new TypeError('a members view unit needs a patient list');
    const options: MemberOptions = {
      patients: spec.patients,
      members: compiled.patients,
      types: [spec.type],
      asOf: job.transactionTime,
    };
    if (since !== undefined) options.since = since;
    if (checkpoint?.afterPatient !== undefined) options.afterPatient = checkpoint.afterPatient;
    if (ctx.memberBatchPatients !== undefined) options.batchPatients = ctx.memberBatchPatients;
    for await (const batch of ctx.store.readMembers(options)) {
      const chunk = batch.types.get(spec.type);
      const rows: RowValues[] = [];
      if (chunk) for (const line of ndjsonLines(chunk.bytes)) pushAll(rows, runner.values(JSON.parse(line)));
      yield { rows, read: chunk?.rows ?? 0, afterPatient: batch.lastPatient };
    }
    return;
  }
  const options: ScanOptions = { type: spec.type, asOf: job.transactionTime, batchBytes: PARSE_BATCH_BYTES };
  if (since !== undefined) options.since = since;
  const after = checkpoint?.after ?? spec.after;
  if (after) options.after = after;
  if (spec.upTo) options.upTo = spec.upTo;
  // patient= and group= over the type scan: only the compartments of the job's patients.
  if (Array.isArray(compiled.patients)) options.patients = compiled.patients;
  for await (const batch of ctx.store.scanTexts(options)) {
    const rows: RowValues[] = [];
    for (const text of batch.texts) pushAll(rows, runner.values(JSON.parse(text)));
    yield { rows, read: batch.texts.length, after: batch.cursor };
  }
}

// A loop instead of push(...spread), which builds an arguments list per resource.
function pushAll(into: RowValues[], rows: RowValues[]): void {
  for (const row of rows) into.push(row);
}

/** The lines of newline-terminated NDJSON bytes. */
function ndjsonLines(bytes: Buffer): string[] {
  return bytes
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0);
}
