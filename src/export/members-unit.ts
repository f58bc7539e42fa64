import type { MemberOptions, MemberRidOptions, NdjsonChunk, StoredResource } from '../store/index.js';
import type { NdjsonSeries } from '../storage/index.js';
import { resolveChunk } from './attachment-urls.js';
import { RefCollector } from './ref-collector.js';
import type { CompiledRequest, UnitContext, UnitRun } from './unit-context.js';
import { finish, series, toLines, UnitStoppedError, UnitYieldedError } from './unit-context.js';
import type { UnitCheckpoint, UnitFile, UnitResult } from './unit-spec.js';

const REF_FLUSH = 5000;

/**
 * Write the compartments of a share of the export's members, batch by batch of patients, one file
 * series per type. Rows are copied as stored unless a filter, projection or relative URL needs them
 * parsed. Between batches the unit may checkpoint after its last patient and give its worker back.
 */
export async function runMembers(run: UnitRun<'members'>): Promise<UnitResult> {
  const { ctx, job, compiled, checkpoint, spec } = run;
  const { request } = compiled;
  if (!Array.isArray(compiled.patients)) throw new TypeError('a members unit needs a patient list');
  const options: MemberOptions = {
    patients: spec.patients,
    members: compiled.patients,
    types: spec.types,
    asOf: job.transactionTime,
  };
  if (request.since !== undefined) options.since = request.since;
  if (request.until !== undefined) options.until = request.until;
  if (checkpoint?.afterPatient !== undefined) options.afterPatient = checkpoint.afterPatient;
  if (ctx.memberBatchPatients !== undefined) options.batchPatients = ctx.memberBatchPatients;
  if (spec.provenance) options.provenance = true;
  return writeBatches(run, ctx.store.readMembers(options), {
    resumeAt: (batch) => ({ afterPatient: batch.lastPatient }),
  });
}

/**
 * Write the compartments of all the export's members in one row id range, batch by batch, one file
 * series per type, as `runMembers` does; the `relevant` Provenance found is recorded as the job's
 * references for the `foundProvenance` unit. A checkpoint resumes after the last row id written.
 */
export async function runMemberRange(run: UnitRun<'memberRange'>): Promise<UnitResult> {
  const { ctx, job, compiled, checkpoint, spec } = run;
  const { request } = compiled;
  if (!Array.isArray(compiled.patients)) throw new TypeError('a member range unit needs a patient list');
  if (!ctx.store.readMemberRids) throw new TypeError('this store does not read members by row id');
  const options: MemberRidOptions = {
    members: compiled.patients,
    types: spec.types,
    asOf: job.transactionTime,
    after: checkpoint?.afterRid ?? spec.after,
  };
  if (spec.upTo !== undefined) options.upTo = spec.upTo;
  if (request.since !== undefined) options.since = request.since;
  if (request.until !== undefined) options.until = request.until;
  // The first range also reads the versions superseded before row ids were kept with them.
  if (spec.after === 0 && checkpoint?.afterRid === undefined) options.unkeyedHistory = true;
  if (spec.provenance) options.provenance = true;
  if (ctx.memberBatchRows !== undefined) options.batchRows = ctx.memberBatchRows;
  return writeBatches(run, ctx.store.readMemberRids(options), {
    onBatch: async (batch) => {
      const found = batch.provenanceIds.map((id) => ({ type: 'Provenance', id }));
      if (found.length > 0) await ctx.store.jobs.addRefs(job.id, found);
    },
    // The range's last batch has nothing after it to resume.
    resumeAt: (batch) => (batch.lastRid === spec.upTo ? undefined : { afterRid: batch.lastRid }),
  });
}

/**
 * A member read's batches, each type to its own file series. When the worker asks for the thread
 * back after a batch that `resumeAt` names a position for, the files so far are committed and the
 * unit checkpoints there.
 */
async function writeBatches<B extends { types: Map<string, NdjsonChunk> }>(
  run: Pick<UnitRun, 'ctx' | 'job' | 'unit' | 'compiled' | 'checkpoint'>,
  batches: AsyncIterable<B>,
  how: {
    onBatch?: (batch: B) => Promise<void>;
    resumeAt: (batch: B) => Pick<UnitCheckpoint, 'afterPatient' | 'afterRid'> | undefined;
  },
): Promise<UnitResult> {
  const { ctx, job, compiled, checkpoint } = run;
  const segment = checkpoint?.segment ?? 0;
  const outs = new Map<string, NdjsonSeries>();
  const refs = new RefCollector();
  let paused: Pick<UnitCheckpoint, 'afterPatient' | 'afterRid'> | undefined;
  try {
    for await (const batch of batches) {
      let rows = 0;
      for (const [type, chunk] of batch.types) {
        rows += chunk.rows;
        let out = outs.get(type);
        if (!out) outs.set(type, (out = series(run, 'output', type, segment)));
        await writeChunk(ctx, compiled, { out, refs }, type, chunk);
      }
      await how.onBatch?.(batch);
      if (refs.size >= REF_FLUSH) await ctx.store.jobs.addRefs(job.id, refs.take());
      if (!(await ctx.progress(rows))) throw new UnitStoppedError('unit stopped');
      const at = how.resumeAt(batch);
      if (at && (await ctx.yieldNow())) {
        paused = at;
        break;
      }
    }
  } catch (err) {
    for (const out of outs.values()) await out.abort();
    throw err;
  }
  // Before a checkpoint too: the references of the rows written so far are not read again.
  await ctx.store.jobs.addRefs(job.id, refs.take());
  const files: UnitFile[] = [...(checkpoint?.files ?? [])];
  for (const [type, out] of [...outs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    files.push(...(await finish(out, 'output', type)));
  if (paused === undefined) return { files };
  if (!(await ctx.saveCheckpoint({ segment: segment + 1, ...paused, files }))) {
    throw new UnitStoppedError('lease lost at a checkpoint');
  }
  throw new UnitYieldedError('checkpointed to let another client run');
}

/** One type's rows of a batch into its series: as bytes, or parsed when the request needs it. */
async function writeChunk(
  ctx: UnitContext,
  compiled: CompiledRequest,
  to: { out: NdjsonSeries; refs: RefCollector },
  type: string,
  chunk: NdjsonChunk,
): Promise<void> {
  const { out } = to;
  // Supporting references are collected from what is written, as the type path does; not from
  // Provenance, as the Provenance units (provenance.ts) never collected them either.
  const refs = type === 'Provenance' ? undefined : to.refs;
  const filter = compiled.filters.get(type);
  if (!filter && !compiled.elements) {
    const resolved = ctx.baseUrl === undefined ? undefined : resolveChunk(chunk.bytes, type, ctx.baseUrl);
    if (resolved) chunk.release?.();
    // Read before the write, so the buffer can go back to the producer once written.
    refs?.scan(resolved ?? chunk.bytes);
    await out.writeChunk(resolved ?? chunk.bytes, chunk.rows, resolved ? undefined : chunk.release);
    return;
  }
  const rows: StoredResource[] = ndjsonLines(chunk.bytes).map((json) => ({
    type,
    id: '',
    versionId: 0,
    lastUpdated: 0,
    json,
  }));
  chunk.release?.();
  const lines = toLines(rows, { filter, elements: compiled.elements, baseUrl: ctx.baseUrl });
  await out.writeLines(lines);
  refs?.scan(Buffer.from(lines.join('\n')));
}

/** The lines of newline-terminated NDJSON bytes. */
function ndjsonLines(bytes: Buffer): string[] {
  const text = bytes.toString('utf8');
  return text.split('\n').filter((line) => line.length > 0);
}
