import type { FhirResource, ProvenanceTarget } from '../fhir/index.js';
import { provenanceTargets } from '../fhir/index.js';
import { compartmentOwners } from './compartment-check.js';
import type { MemberBatch, MemberOptions } from './types.js';

// About 50 resources per patient in generated data: 32 patients make batches of about 3 MB, large
// enough that a batch's queries cost little per row, small enough to bound a worker's memory (a batch
// is held about twice while it is copied out; 64 patients cost a 10% Group export at 1M about 15 MiB
// more peak RSS for the same CPU).
const DEFAULT_BATCH_PATIENTS = 32;
const NEWLINE = Buffer.from('\n');

/** The patients of `o` after its checkpoint, sorted, in batches. */
export function patientBatches(o: MemberOptions): string[][] {
  const sorted = [...new Set(o.patients)].sort(compareIds);
  const start =
    o.afterPatient === undefined ? 0 : sorted.findIndex((p) => compareIds(p, o.afterPatient!) > 0);
  if (start < 0) return [];
  const size = Math.max(1, o.batchPatients ?? DEFAULT_BATCH_PATIENTS);
  const out: string[][] = [];
  for (let i = start; i < sorted.length; i += size) out.push(sorted.slice(i, i + size));
  return out;
}

/** Ids compared by code unit: ids are ASCII ([A-Za-z0-9.-]), so this is also their byte order. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Decides which batch writes a resource: the one holding its lowest owner among the export's members.
 * A resource in several members' compartments (an Encounter of two patients) is so written once.
 */
export class MemberOwnership {
  private readonly members: Set<string>;

  constructor(members: readonly string[]) {
    this.members = new Set(members);
  }

  /** Whether a resource with these compartment owners is written by the batch of `batch` patients. */
  ownedBy(owners: readonly string[], batch: ReadonlySet<string>): boolean {
    let lowest: string | undefined;
    for (const p of owners) {
      if (this.members.has(p) && (lowest === undefined || p < lowest)) lowest = p;
    }
    return lowest !== undefined && batch.has(lowest);
  }

  /** `ownedBy` for a comma-joined owner list (as the stores aggregate it); one owner needs no split. */
  ownedByList(owners: string, batch: ReadonlySet<string>): boolean {
    if (owners.indexOf(',') < 0) return batch.has(owners);
    return this.ownedBy(owners.split(','), batch);
  }

  /** `ownedBy` for a superseded version, whose owners come from its JSON (the index holds current rows). */
  ownsVersion(r: { type: string; id: string; json: string }, batch: ReadonlySet<string>): boolean {
    return this.ownedBy(compartmentOwners(r), batch);
  }
}

/**
 * The targets of a superseded Provenance version (which the target index no longer describes) that
 * can place it in the export: Patient targets name their patient, the others need their compartment.
 */
export function provenanceVersionTargets(
  json: string,
  targetTypes: ReadonlySet<string>,
): { patients: string[]; lookups: ProvenanceTarget[] } {
  const out: { patients: string[]; lookups: ProvenanceTarget[] } = { patients: [], lookups: [] };
  for (const t of provenanceTargets(JSON.parse(json) as FhirResource)) {
    if (!targetTypes.has(t.type)) continue;
    if (t.type === 'Patient') out.patients.push(t.id);
    else out.lookups.push(t);
  }
  return out;
}

/** Collects one batch's rows as NDJSON per type. */
export class MemberSink {
  private readonly parts = new Map<string, { rows: number; bytes: number; parts: Buffer[] }>();

  /** Add one row's stored JSON (UTF-8) to its type. */
  add(type: string, json: Buffer): void {
    let entry = this.parts.get(type);
    if (!entry) this.parts.set(type, (entry = { rows: 0, bytes: 0, parts: [] }));
    entry.parts.push(json, NEWLINE);
    entry.rows += 1;
    entry.bytes += json.length + 1;
  }

  /** The batch, once every row of it was added. */
  batch(lastPatient: string): MemberBatch {
    const types: MemberBatch['types'] = new Map();
    for (const [type, e] of this.parts)
      types.set(type, { rows: e.rows, bytes: Buffer.concat(e.parts, e.bytes) });
    return { lastPatient, types };
  }
}
