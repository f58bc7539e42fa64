import type { FhirResource } from '../fhir/index.js';
import { provenanceTargets } from '../fhir/index.js';
import type { ScanOptions, StoredResource } from '../store/index.js';
import type { CompiledRequest, UnitContext, UnitRun } from './unit-context.js';
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

type Target = { key: string; type: string; id: string };

// The same targets the store's target index records (prepared-row.ts), so both paths agree.
function readTargets(resource: FhirResource): Target[] {
  return provenanceTargets(resource).map(({ type, id }) => ({ key: `${type}/${id}`, type, id }));
}

/** How a unit decides which targets are in the export. */
interface TargetFilter {
  /** Whether a target is in the export without a store lookup (its type and, if Patient, its id). */
  direct(t: Target): boolean;
  /** The keys of `targets` in the export, the compartments of non-Patient ones from one store call. */
  lookUp(targets: readonly Target[]): Promise<Set<string>>;
}

/** Targets in the export: their type is exported and, below system level, their patient is. */
function targetFilter(ctx: UnitContext, compiled: CompiledRequest, spec: ProvenanceSpec): TargetFilter {
  const types = new Set(spec.targetTypes);
  const { patients } = compiled;
  const set = patients === undefined || patients === 'all' ? undefined : new Set(patients);
  const direct = (t: Target): boolean =>
    types.has(t.type) && (patients === undefined || (t.type === 'Patient' && (!set || set.has(t.id))));
  const lookUp = async (targets: readonly Target[]): Promise<Set<string>> => {
    const kept = new Set<string>();
    const lookups = new Map<string, Target>();
    for (const t of targets) {
      if (direct(t)) kept.add(t.key);
      else if (types.has(t.type) && t.type !== 'Patient') lookups.set(t.key, t);
    }
    if (lookups.size === 0) return kept;
    const owners = await ctx.store.compartmentsOfMany([...lookups.values()]);
    for (const [key, found] of owners) {
      if (!set || found.some((p) => set.has(p))) kept.add(key);
    }
    return kept;
  };
  return { direct, lookUp };
}

async function* candidates(run: UnitRun<'provenance'>): AsyncGenerator<Candidate[]> {
  const { ctx, job, compiled, spec } = run;
  const { request } = compiled;
  const options: ScanOptions = { type: 'Provenance', asOf: job.transactionTime };
  if (request.since !== undefined) options.since = request.since;
  if (request.until !== undefined) options.until = request.until;
  if (spec.after) options.after = spec.after;
  if (spec.upTo) options.upTo = spec.upTo;
  const filter = targetFilter(ctx, compiled, spec);
  for await (const batch of ctx.store.scan(options)) {
    const parsed = batch.map((row) => {
      const resource = JSON.parse(row.json) as FhirResource;
      return { row, recorded: String(resource.recorded ?? ''), targets: readTargets(resource) };
    });
    // `relevant` needs one target in the export: a Provenance naming one that needs no lookup (its
    // patient, at patient level) is settled, and its other targets are not looked up. That is every
    // generated Provenance, whose lookups cost most of a Patient export's Provenance units. `latest`
    // ranks every target, so it looks them all up.
    const unsettled =
      spec.mode === 'relevant' ? parsed.filter((p) => !p.targets.some(filter.direct)) : parsed;
    const kept = await filter.lookUp(unsettled.flatMap((p) => p.targets));
    const out: Candidate[] = [];
    for (const p of parsed) {
      const targets = p.targets.filter((t) => filter.direct(t) || kept.has(t.key)).map((t) => t.key);
      if (targets.length > 0) out.push({ row: p.row, recorded: p.recorded, targets });
    }
    if (!(await ctx.progress(batch.length))) throw new UnitStoppedError('unit stopped');
    yield out;
  }
}

/** Write the Provenance resources an export includes. */
export async function runProvenance(run: UnitRun<'provenance'>): Promise<UnitResult> {
  const { ctx, compiled, spec } = run;
  let winners: Set<string> | undefined;
  if (spec.mode === 'latest') {
    // First pass: the newest Provenance of each target. The map holds one entry per target, not per output line.
    const best = new Map<string, { id: string; recorded: string; lastUpdated: number }>();
    for await (const batch of candidates(run)) {
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
  const out = series(run, 'output', 'Provenance');
  const filter = compiled.filters.get('Provenance');
  try {
    for await (const batch of candidates(run)) {
      const rows = batch.filter((c) => !winners || winners.has(c.row.id)).map((c) => c.row);
      await out.writeLines(toLines(rows, { filter, elements: compiled.elements, baseUrl: ctx.baseUrl }));
    }
  } catch (err) {
    await out.abort();
    throw err;
  }
  return { files: await finish(out, 'output', 'Provenance') };
}
