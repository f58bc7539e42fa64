import { PATIENT_COMPARTMENT_TYPES } from '../fhir/index.js';
import type { NewUnit, ResourceStore } from '../store/index.js';
import { encodeUnitSpec } from './job-codec.js';
import type { PlanOptions } from './planner.js';
import { memberChunks, readsMembers } from './planner.js';
import type { ExportRequest } from './types.js';
import type { UnitSpec } from './unit-spec.js';

/** Progress estimate only: rows per patient in typical (generated) records. */
const ROWS_PER_PATIENT_ESTIMATE = 50;
/**
 * A view costs several times a raw export per row (parse, rows, encoding): at the 1M bench's
 * 100,000 rows per unit, the Observation view ran as 5 units of seconds each, and one worker sat idle
 * while the other finished the last. Ranges of at most 25,000 rows end the workers closer together.
 */
const VIEW_ROWS_PER_UNIT = 25_000;

/**
 * The units of a `$viewdefinition-export` job: per view, key ranges of its resource type (like the
 * `resources` units of $export, so a large type runs on every worker), or, when `patient` or `group`
 * narrowed the job, shares of the patients read through the compartment index when they are few.
 * A type outside the Patient compartment gets no unit then: none of its resources is in a compartment.
 */
export async function planViewUnits(
  store: ResourceStore,
  request: ExportRequest,
  options: PlanOptions,
): Promise<NewUnit[]> {
  const views = request.view?.views ?? [];
  const { patients } = options;
  const present = new Set(await store.types());
  const members = await readsMembers(store, patients, options.readPath);
  // Encoded at the end: each view's first unit is marked once all of the view's units are cut.
  const units: { spec: UnitSpec & { kind: 'view' }; estimate: number }[] = [];
  const add = (spec: UnitSpec & { kind: 'view' }, estimate: number): void => {
    units.push({ spec, estimate });
  };
  for (const [view, { resource: type }] of views.entries()) {
    const first = units.length;
    const reads =
      present.has(type) &&
      (patients === undefined || (patients.length > 0 && PATIENT_COMPARTMENT_TYPES.has(type)));
    if (!reads) {
      // Nothing to read: one unit writes the view's empty table (an empty patient share reads nothing).
      add({ kind: 'view', view, type, patients: [], first: true }, 1);
      continue;
    }
    if (members) {
      for (const chunk of memberChunks(patients!)) {
        add({ kind: 'view', view, type, patients: chunk }, chunk.length * ROWS_PER_PATIENT_ESTIMATE);
      }
    } else {
      const rows = Math.min(options.rowsPerUnit, VIEW_ROWS_PER_UNIT);
      const { count, bounds } = await store.planRanges(type, rows);
      // Ranges are (previous bound, bound], the last one open-ended, as planner.ts cuts them.
      let after: UnitSpec & { kind: 'view' } = { kind: 'view', view, type };
      for (const bound of bounds) {
        add({ ...after, upTo: bound }, rows);
        after = { kind: 'view', view, type, after: bound };
      }
      add(after, Math.max(0, count - bounds.length * rows));
    }
    const head = units[first]!;
    head.spec = { ...head.spec, first: true };
  }
  return units.map(({ spec, estimate }) => ({ phase: 0, spec: encodeUnitSpec(spec), estimate }));
}
