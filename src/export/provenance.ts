import type { FhirResource } from '../fhir/index.js';
import { parseReference } from '../fhir/index.js';
import type { JobRecord, ScanOptions, StoredResource, UnitRecord } from '../store/index.js';
import type { CompiledRequest, UnitContext } from './unit-context.js';
import { finish, series, toLines, UnitStoppedError } from './unit-context.js';
import type { UnitResult, UnitSpec } from './unit-spec.js';

// includeAssociatedData and the IG's Provenance default
// (https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters, includeAssociatedData):
// Provenance is exported when it targets a resource of the export; `latest` keeps, for each target,
// only the most recent Provenance (by `recorded`, then lastUpdated).

type ProvenanceSpec = UnitSpec & { kind: 'provenance' };

interface Candidate {
  row: StoredResource;
  recorded: string;
  targets: string[];
}

function readTargets(resource: FhirResource): { key: string; type: string; id: string }[] {
  const out: { key: string; type: string; id: string }[] = [];
  for (const t of Array.isArray(resource.target) ? (resource.target as { reference?: unknown }[]) : []) {
    const ref = typeof t?.reference === 'string' ? parseReference(t.reference) : undefined;
    if (ref?.type) out.push({ key: `${ref.type}/${ref.id}`, type: ref.type, id: ref.id });
  }
  return out;
}

/** Decides whether a target belongs to the export: its type is exported and, below system level, its patient is. */
async function targetFilter(
  ctx: UnitContext,
  compiled: CompiledRequest,
  spec: ProvenanceSpec,
): Promise<(type: string, id: string) => Promise<boolean>> {
  const types = new Set(spec.targetTypes);
  const { patients } = compiled;
  if (patients === undefined) return async (type) => types.has(type);
  const set = patients === 'all' ? undefined : new Set(patients);
  return async (type, id) => {
    if (!types.has(type)) return false;
    if (type === 'Patient') return set ? set.has(id) : true;
    const owners = await ctx.store.compartmentsOf(type, id);
    return set ? owners.some((p) => set.has(p)) : owners.length > 0;
  };
}

async function* candidates(
  ctx: UnitContext,
  job: JobRecord,
  compiled: CompiledRequest,
  spec: ProvenanceSpec,
): AsyncGenerator<Candidate[]> {
  const { request } = compiled;
  const options: ScanOptions = { type: 'Provenance', asOf: job.transactionTime };
  if (request.since !== undefined) options.since = request.since;
  if (request.until !== undefined) options.until = request.until;
  const inExport = await targetFilter(ctx, compiled, spec);
  for await (const batch of ctx.store.scan(options)) {
    const kept: Candidate[] = [];
    for (const row of batch) {
      const resource = JSON.parse(row.json) as FhirResource;
      const targets: string[] = [];
      for (const t of readTargets(resource)) if (await inExport(t.type, t.id)) targets.push(t.key);
      if (targets.length > 0) kept.push({ row, recorded: String(resource.recorded ?? ''), targets });
    }
    if (!(await ctx.progress(batch.length))) throw new UnitStoppedError('unit stopped');
    yield kept;
  }
}

/** Write the Provenance resources an export includes. */
export async function runProvenance(
  ctx: UnitContext,
  job: JobRecord,
  compiled: CompiledRequest,
  unit: UnitRecord,
): Promise<UnitResult> {
  const spec = JSON.parse(unit.spec) as ProvenanceSpec;
  let winners: Set<string> | undefined;
  if (spec.mode === 'latest') {
    // First pass: the newest Provenance of each target. The map holds one entry per target, not per output line.
    const best = new Map<string, { id: string; recorded: string; lastUpdated: number }>();
    for await (const batch of candidates(ctx, job, compiled, spec)) {
      for (const c of batch) {
        for (const target of c.targets) {
          const cur = best.get(target);
          const newer =
            !cur ||
            c.recorded > cur.recorded ||
            (c.recorded === cur.recorded && c.row.lastUpdated > cur.lastUpdated);
          if (newer) best.set(target, { id: c.row.id, recorded: c.recorded, lastUpdated: c.row.lastUpdated });
        }
      }
    }
    winners = new Set([...best.values()].map((b) => b.id));
  }
  const out = series(ctx, job, unit, 'output', 'Provenance');
  const filter = compiled.filters.get('Provenance');
  try {
    for await (const batch of candidates(ctx, job, compiled, spec)) {
      const rows = batch.filter((c) => !winners || winners.has(c.row.id)).map((c) => c.row);
      await out.writeLines(toLines(rows, { filter, elements: compiled.elements, baseUrl: ctx.baseUrl }));
    }
  } catch (err) {
    await out.abort();
    throw err;
  }
  return { files: await finish(out, 'output', 'Provenance') };
}
