import type { MemberOptions, StoredResource } from '../store/index.js';
import type { NdjsonSeries } from '../storage/index.js';
import { resolveChunk } from './attachment-urls.js';
import { RefCollector } from './ref-collector.js';
import type { CompiledRequest, UnitContext, UnitRun } from './unit-context.js';
import { finish, series, toLines, UnitStoppedError, UnitYieldedError } from './unit-context.js';
import type { UnitFile, UnitResult } from './unit-spec.js';

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
  const segment = checkpoint?.segment ?? 0;
  const outs = new Map<string, NdjsonSeries>();
  const outFor = (type: string): NdjsonSeries => {
    let out = outs.get(type);
    if (!out) outs.set(type, (out = series(run, 'output', type, segment)));
    return out;
  };
  const refs = new RefCollector();
  const closeAll = async (): Promise<UnitFile[]> => {
    const files: UnitFile[] = [...(checkpoint?.files ?? [])];
    for (const [type, out] of [...outs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      files.push(...(await finish(out, 'output', type)));
    return files;
  };
  let pausedAfter: string | undefined;
  try {
    for await (const batch of ctx.store.readMembers(options)) {
      let rows = 0;
      for (const [type, chunk] of batch.types) {
        rows += chunk.rows;
        await writeChunk(ctx, compiled, { out: outFor(type), refs }, type, chunk);
      }
      if (refs.size >= REF_FLUSH) await ctx.store.jobs.addRefs(job.id, refs.take());
      if (!(await ctx.progress(rows))) throw new UnitStoppedError('unit stopped');
      if (await ctx.yieldNow()) {
        pausedAfter = batch.lastPatient;
        break;
      }
    }
  } catch (err) {
    for (const out of outs.values()) await out.abort();
    throw err;
  }
  // Before a checkpoint too: the references of the patients written so far are not read again.
  await ctx.store.jobs.addRefs(job.id, refs.take());
  const files = await closeAll();
  if (pausedAfter === undefined) return { files };
  if (!(await ctx.saveCheckpoint({ segment: segment + 1, afterPatient: pausedAfter, files }))) {
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
  chunk: { rows: number; bytes: Buffer },
): Promise<void> {
  const { out } = to;
  // Supporting references are collected from what is written, as the type path does; not from
  // Provenance, as the Provenance units (provenance.ts) never collected them either.
  const refs = type === 'Provenance' ? undefined : to.refs;
  const filter = compiled.filters.get(type);
  if (!filter && !compiled.elements) {
    const resolved = ctx.baseUrl === undefined ? undefined : resolveChunk(chunk.bytes, type, ctx.baseUrl);
    await out.writeChunk(resolved ?? chunk.bytes, chunk.rows);
    refs?.scan(resolved ?? chunk.bytes);
    return;
  }
  const rows: StoredResource[] = ndjsonLines(chunk.bytes).map((json) => ({
    type,
    id: '',
    versionId: 0,
    lastUpdated: 0,
    json,
  }));
  const lines = toLines(rows, { filter, elements: compiled.elements, baseUrl: ctx.baseUrl });
  await out.writeLines(lines);
  refs?.scan(Buffer.from(lines.join('\n')));
}

/** The lines of newline-terminated NDJSON bytes. */
function ndjsonLines(bytes: Buffer): string[] {
  const text = bytes.toString('utf8');
  return text.split('\n').filter((line) => line.length > 0);
}
