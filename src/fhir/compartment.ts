import TABLE from './data/patient-compartment.json' with { type: 'json' };
import { parseReference } from './references.js';
import type { FhirResource } from './resource.js';

/** One way a resource belongs to a patient's compartment. */
export interface CompartmentRef {
  /** The compartment's search parameter that links them (`subject`, `performer`, ...), or `_id` for the Patient itself. */
  param: string;
  patientId: string;
}

/**
 * The param reported for a Patient in its own compartment: the compartment's focal resource belongs to
 * it (https://hl7.org/fhir/R4/compartmentdefinition.html), but no CompartmentDefinition param says so.
 */
export const PATIENT_SELF_PARAM = '_id';

interface CompiledPath {
  param: string;
  segments: readonly string[];
}

const PARAM_PATHS = (TABLE as { types: Record<string, Record<string, string[]>> }).types;

// Compiled once at load: type -> the element paths to walk, each with its param.
const COMPILED = new Map<string, readonly CompiledPath[]>();
const PARAMS = new Map<string, readonly string[]>();
for (const [type, params] of Object.entries(PARAM_PATHS)) {
  const paths: CompiledPath[] = [];
  for (const [param, elementPaths] of Object.entries(params)) {
    for (const path of elementPaths) paths.push({ param, segments: Object.freeze(path.split('.')) });
  }
  COMPILED.set(type, Object.freeze(paths));
  const names = Object.keys(params);
  PARAMS.set(type, Object.freeze(type === 'Patient' ? [PATIENT_SELF_PARAM, ...names] : names));
}

const NO_PARAMS: readonly string[] = Object.freeze([]);

/**
 * The resource types in the R4 Patient compartment: those with at least one param in
 * https://hl7.org/fhir/R4/compartmentdefinition-patient.html, plus Patient itself.
 */
export const PATIENT_COMPARTMENT_TYPES: ReadonlySet<string> = new Set([...COMPILED.keys(), 'Patient']);

/**
 * The Patient compartment params of a resource type, in CompartmentDefinition order. For Patient
 * this starts with {@link PATIENT_SELF_PARAM}. Types outside the compartment give an empty list.
 * @param type - a resource type
 */
export function compartmentParams(type: string): readonly string[] {
  return PARAMS.get(type) ?? NO_PARAMS;
}

/**
 * Every patient whose compartment holds `resource`, with the param that puts it there, de-duplicated
 * on (param, patientId). Follows the compartment's element paths through arrays at any level and keeps
 * references that parse as `Patient/id` (relative or absolute URL, any `_history` dropped).
 * `urn:uuid:` references are skipped: without the Bundle they cannot be typed or resolved.
 * A Patient is in its own compartment, reported with param {@link PATIENT_SELF_PARAM}.
 * @param resource - a parsed resource; a type outside the compartment gives an empty list
 */
export function patientCompartmentRefs(resource: FhirResource): CompartmentRef[] {
  const out: CompartmentRef[] = [];
  if (resource.resourceType === 'Patient' && typeof resource.id === 'string') {
    out.push({ param: PATIENT_SELF_PARAM, patientId: resource.id });
  }
  const paths = COMPILED.get(resource.resourceType);
  if (paths === undefined) return out;
  // A Set, not a scan of `out`: a Group can list tens of thousands of members.
  const seen = new Set<string>();
  for (const { param, segments } of paths) collect(resource, segments, 0, { param, out, seen });
  return out;
}

function collect(
  node: unknown,
  segments: readonly string[],
  at: number,
  into: { param: string; out: CompartmentRef[]; seen: Set<string> },
) {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) collect(item, segments, at, into);
    return;
  }
  const record = node as Record<string, unknown>;
  if (at < segments.length) {
    collect(record[segments[at]!], segments, at + 1, into);
    return;
  }
  const reference = record.reference;
  if (typeof reference !== 'string') return;
  const parsed = parseReference(reference);
  if (parsed?.type !== 'Patient') return;
  const { param, out, seen } = into;
  const key = `${param}\u0000${parsed.id}`;
  if (seen.has(key)) return;
  seen.add(key);
  out.push({ param, patientId: parsed.id });
}
