import { PATIENT_COMPARTMENT_TYPES, SUPPORTING_TYPES } from '../fhir/index.js';
import type { NewUnit, ResourceStore, ScanKey } from '../store/index.js';
import type { ExportReadPath } from './config.js';
import { EXPORTABLE_TYPES } from './exportable.js';
import { encodeUnitSpec } from './job-codec.js';
import type { ExportRequest } from './types.js';
import type { UnitSpec } from './unit-spec.js';

const PATIENTS_PER_BLOCK_UNIT = 1000;
// Types counted and split at once while planning; more would only queue for pool connections.
const PLAN_CONCURRENCY = 4;
/**
 * A Group or patient list of at most this share of the store's patients is read member by member
 * through the compartment index; a larger one by scanning each type. Measured at 100k and 1M
 * resources (docs/export.md, "How Group exports are read").
 */
export const MEMBER_SHARE_MAX = 0.3;
// A members unit holds 100 to 500 patients (about 5k to 25k rows of generated data): each unit writes
// a file per type, so tiny units cost more in file commits than they gain in parallelism. A list is cut
// into a multiple of MIN_MEMBER_UNITS (the default worker count) units of even size when it has enough
// patients, so the workers finish together instead of one running a last unit alone.
const MIN_PATIENTS_PER_MEMBER_UNIT = 100;
const MAX_PATIENTS_PER_MEMBER_UNIT = 500;
const MIN_MEMBER_UNITS = 2;
// A member range reads its rows in id order (store.readMemberRids), so a range costs only its list
// of row ids beyond its rows: about 2,500 to 25,000 rows each, an even count of ranges.
const MIN_ROWS_PER_MEMBER_RANGE = 2_500;
const MAX_ROWS_PER_MEMBER_RANGE = 25_000;
/**
 * Provenance rows per `relevant` unit: each row costs a parse and a compartment lookup per target,
 * so even a store's few Provenance (18k at 1M generated resources) are worth sharing between workers.
 */
const PROVENANCE_ROWS_PER_UNIT = 10_000;
/** Progress estimate only: rows per patient in typical (generated) records. */
const ROWS_PER_PATIENT_ESTIMATE = 50;

/** Planning knobs and the job's scope. */
export interface PlanOptions {
  /** Split a type into key ranges of about this many rows. */
  rowsPerUnit: number;
  transactionTime: number;
  /** The patients a group or patient-list export covers. */
  patients: string[] | undefined;
  /** How a patient list is read (ExportConfig.readPath); `auto` when unset. */
  readPath?: ExportReadPath;
}

/** Whether a patient list is read member by member (`members` units) rather than by type scans. */
export async function readsMembers(
  store: ResourceStore,
  patients: string[] | undefined,
  readPath: ExportReadPath = 'auto',
): Promise<boolean> {
  if (patients === undefined || readPath === 'types') return false;
  if (readPath === 'members') return true;
  const total = await store.count('Patient');
  return total === 0 || patients.length <= MEMBER_SHARE_MAX * total;
}

/** A sorted patient list cut into the patient lists of members units. */
export function memberChunks(patients: readonly string[]): string[][] {
  const sorted = [...new Set(patients)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const needed = Math.ceil(sorted.length / MAX_PATIENTS_PER_MEMBER_UNIT);
  const units = Math.max(1, Math.ceil(needed / MIN_MEMBER_UNITS)) * MIN_MEMBER_UNITS;
  const size = Math.max(MIN_PATIENTS_PER_MEMBER_UNIT, Math.ceil(sorted.length / units));
  const out: string[][] = [];
  for (let i = 0; i < sorted.length; i += size) out.push(sorted.slice(i, i + size));
  return out;
}

/** How many row id ranges a member export of about `rows` rows is cut into (memberRange units). */
export function memberRangeCount(rows: number): number {
  if (rows < MIN_ROWS_PER_MEMBER_RANGE * MIN_MEMBER_UNITS) return 1;
  const needed = Math.ceil(rows / MAX_ROWS_PER_MEMBER_RANGE);
  return Math.ceil(needed / MIN_MEMBER_UNITS) * MIN_MEMBER_UNITS;
}

/** `memberRange` units that cover every row id, cut where the members' rows split evenly. */
async function addMemberRanges(
  store: ResourceStore,
  patients: string[],
  spec: { types: string[]; provenance?: true },
  add: (phase: number, spec: UnitSpec, estimate: number) => void,
): Promise<void> {
  const { rows, bounds } = await store.memberRidBounds!(patients, memberRangeCount);
  const estimate = Math.max(1, Math.round(rows / (bounds.length + 1)));
  let after = 0;
  for (const upTo of bounds) {
    add(0, { kind: 'memberRange', after, upTo, ...spec }, estimate);
    after = upTo;
  }
  add(0, { kind: 'memberRange', after, ...spec }, estimate);
}

/** The types an export covers, in a stable order. */
export async function exportTypes(
  store: ResourceStore,
  request: ExportRequest,
): Promise<{ main: string[]; supporting: string[]; deleted: string[] }> {
  const present = await store.types();
  // A type whose every resource was deleted still owes its deletions to a _since export.
  const tombstoned = request.since === undefined ? [] : await store.deletedTypes();
  // Stored types that are not R4 (ViewDefinition) are server configuration, never export data.
  const known = [...new Set([...present, ...tombstoned])].filter((t) => EXPORTABLE_TYPES.has(t)).sort();
  const excluded = new Set(request.excludedTypes);
  let wanted = (request.types ?? known).filter((t) => !excluded.has(t));
  if (request.level !== 'system') {
    // Group is in the R4 Patient compartment (Group.member); exporting every cohort a patient
    // belongs to would disclose more than the request names, so it needs an explicit _type.
    const inCompartment = (t: string): boolean =>
      PATIENT_COMPARTMENT_TYPES.has(t) && (t !== 'Group' || !!request.types);
    const supporting = wanted.filter((t) => SUPPORTING_TYPES.has(t) && !PATIENT_COMPARTMENT_TYPES.has(t));
    wanted = wanted.filter(inCompartment);
    return {
      main: wanted.filter((t) => present.includes(t)),
      supporting,
      deleted: wanted.filter((t) => known.includes(t)),
    };
  }
  return {
    main: wanted.filter((t) => present.includes(t)),
    supporting: [],
    deleted: wanted.filter((t) => known.includes(t)),
  };
}

/**
 * How Provenance is chosen: by includeAssociatedData (the least restrictive value wins), and by
 * default at patient and group level when Provenance is wanted (IG: Provenance targeting the
 * compartment SHALL be included). At system level without the parameter it is a plain type.
 */
export function provenanceMode(request: ExportRequest): 'relevant' | 'latest' | undefined {
  // Its _typeFilter queries were all dropped (lenient): unfiltered Provenance would over-disclose.
  if (request.excludedTypes?.includes('Provenance')) return undefined;
  const asked = request.includeAssociatedData;
  if (asked.includes('RelevantProvenanceResources')) return 'relevant';
  if (asked.includes('LatestProvenanceResources')) return 'latest';
  if (request.level === 'system') return undefined;
  return !request.types || request.types.includes('Provenance') ? 'relevant' : undefined;
}

/**
 * Turn a request into units: key ranges of each type (phase 0), deletions and Provenance (phase 0),
 * and the supporting resources the output refers to (phase 1, once every phase-0 unit has finished). The
 * `plan` unit that runs this stores the units one phase later (unit-runner.ts).
 */
export async function planUnits(
  store: ResourceStore,
  request: ExportRequest,
  options: PlanOptions,
): Promise<NewUnit[]> {
  const { transactionTime, patients } = options;
  const types = await exportTypes(store, request);
  const provenance = provenanceMode(request);
  // Provenance chosen by its targets is written by its own unit, never also as a plain type.
  const main = provenance ? types.main.filter((t) => t !== 'Provenance') : types.main;
  const { supporting } = types;
  const units: NewUnit[] = [];
  const add = (phase: number, spec: UnitSpec, estimate: number): void => {
    units.push({ phase, spec: encodeUnitSpec(spec), estimate });
  };
  if (request.warnings.length > 0) add(0, { kind: 'warnings' }, 1);
  if (request.organizeOutputBy === 'Patient') {
    // Blocks of patients; supporting resources are left out of organized output (docs/export.md).
    const ids = patients ?? (await store.patientIds(transactionTime));
    for (let i = 0; i < ids.length; i += PATIENTS_PER_BLOCK_UNIT) {
      const chunk = ids.slice(i, i + PATIENTS_PER_BLOCK_UNIT);
      add(0, { kind: 'blocks', patients: chunk, types: types.main }, chunk.length);
    }
    if (request.since !== undefined) for (const type of types.deleted) add(0, { kind: 'deleted', type }, 1);
    return units;
  }
  // `relevant` Provenance judges each Provenance by its own targets: member units read it through the
  // target index, so no unit scans every Provenance. `latest` compares all Provenance of a target.
  let provenanceUnits = provenance !== undefined;
  if (await readsMembers(store, patients, options.readPath)) {
    const withProvenance = provenance === 'relevant' ? { provenance: true as const } : {};
    provenanceUnits = provenance === 'latest';
    if (store.memberRidBounds && store.readMemberRids) {
      await addMemberRanges(store, patients!, { types: main, ...withProvenance }, add);
      if (withProvenance.provenance) add(1, { kind: 'foundProvenance' }, 1);
    } else {
      for (const chunk of memberChunks(patients!)) {
        const spec: UnitSpec = { kind: 'members', patients: chunk, types: main, ...withProvenance };
        add(0, spec, chunk.length * ROWS_PER_PATIENT_ESTIMATE);
      }
    }
  } else await addTypeUnits(store, main, options, add);
  if (request.since !== undefined) {
    for (const type of types.deleted) add(0, { kind: 'deleted', type }, 1);
  }
  for (const type of supporting) add(1, { kind: 'supporting', type }, 1);
  if (provenance && provenanceUnits) {
    await addProvenanceUnits(store, { mode: provenance, targetTypes: main }, options, add);
  }
  return units;
}

/**
 * Provenance units (phase 0: they read no other unit's output, so they run beside the compartment
 * units). `relevant` keeps each Provenance on its own, so it is cut into key ranges that workers share;
 * `latest` compares every Provenance of a target, so it stays one unit.
 */
async function addProvenanceUnits(
  store: ResourceStore,
  spec: { mode: 'relevant' | 'latest'; targetTypes: string[] },
  options: PlanOptions,
  add: (phase: number, spec: UnitSpec, estimate: number) => void,
): Promise<void> {
  const { count, bounds } =
    spec.mode === 'latest'
      ? { count: await store.count('Provenance'), bounds: [] }
      : await store.planRanges('Provenance', Math.min(options.rowsPerUnit, PROVENANCE_ROWS_PER_UNIT));
  const rows = bounds.length === 0 ? count : Math.ceil(count / (bounds.length + 1));
  let after: { after?: ScanKey } = {};
  for (const bound of bounds) {
    add(0, { kind: 'provenance', ...spec, ...after, upTo: bound }, rows);
    after = { after: bound };
  }
  add(0, { kind: 'provenance', ...spec, ...after }, Math.max(1, rows));
}

/** Units of each type's key ranges (phase 0). */
async function addTypeUnits(
  store: ResourceStore,
  main: string[],
  options: PlanOptions,
  add: (phase: number, spec: UnitSpec, estimate: number) => void,
): Promise<void> {
  // Counting and splitting a type are independent of other types: on PostgreSQL, a few at once.
  const sizes = await mapLimit(main, PLAN_CONCURRENCY, async (type) => ({
    type,
    ...(await store.planRanges(type, options.rowsPerUnit)),
  }));
  for (const { type, count, bounds } of sizes) {
    // Ranges are (previous bound, bound]; the last one is open-ended so later versions of
    // snapshot rows (kept in history) still fall in exactly one range.
    let after: UnitSpec & { kind: 'resources' } = { kind: 'resources', type };
    for (const bound of bounds) {
      add(0, { ...after, upTo: bound }, options.rowsPerUnit);
      after = { kind: 'resources', type, after: bound };
    }
    // Counts and bounds may come from a sample (planRanges): the last estimate must not go below zero.
    add(0, after, Math.max(0, count - bounds.length * options.rowsPerUnit));
  }
}

/** `fn` over `items` with at most `limit` calls pending; results in the order of `items`. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
