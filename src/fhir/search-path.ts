import { r4Model } from './fhirpath-lazy.js';
import type { FhirResource } from './resource.js';
import type { SearchValue, SearchValueExtractor } from './search-extract.js';

// A fast evaluator for the plain FHIRPath paths most search parameters use (`Observation.code`,
// `(Observation.value.ofType(Quantity))`, `Patient.name.given`): it walks the JSON with the types of
// fhirpath.js's R4 model, about 10x faster than the general engine, and gives the same values.
// Anything else (where(), exists(), operators) returns undefined so the caller uses fhirpath.js.

interface Option {
  /** The JSON property: `code`, or `valueQuantity` for a choice element. */
  key: string;
  /** Its FHIR type name (`CodeableConcept`, `dateTime`...). */
  type: string;
}

interface Step {
  options: Option[];
}

const PRIMITIVES = new Set([
  'base64Binary',
  'boolean',
  'canonical',
  'code',
  'date',
  'dateTime',
  'decimal',
  'id',
  'instant',
  'integer',
  'markdown',
  'oid',
  'positiveInt',
  'string',
  'time',
  'unsignedInt',
  'uri',
  'url',
  'uuid',
]);
const SYSTEM_STRING = 'System.String';
const SEGMENT_RE = /^[a-z][A-Za-z0-9]*(?::[A-Za-z]+)?$/;

/** The type name a choice suffix stands for: `DateTime` -> `dateTime`, `Quantity` -> `Quantity`. */
function choiceType(suffix: string): string {
  const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return PRIMITIVES.has(lower) ? lower : suffix;
}

/** Splits `(Type.a.ofType(T)).b` into `Type` and `a:T`, `b`; undefined if it is not a plain path. */
function segmentsOf(branch: string): string[] | undefined {
  const marked = branch.replace(/\.ofType\((?:FHIR\.)?(\w+)\)/g, ':$1');
  if (!/^[\w.():]+$/.test(marked) || /\w\(/.test(marked)) return undefined;
  const segments = marked.replace(/[()]/g, '').split('.');
  const [root, ...rest] = segments;
  if (root === undefined || !/^[A-Z][A-Za-z]+$/.test(root) || rest.length === 0) return undefined;
  return rest.every((s) => SEGMENT_RE.test(s)) ? segments : undefined;
}

/** The model path that describes the children of a value of `type` found at `path`. */
function contextPath(path: string, type: string): string {
  return type === 'BackboneElement' || type === 'Element' ? path : type;
}

/** Resolves the steps of a path against the R4 model; undefined when the model cannot type it. */
function planSteps(segments: string[]): Step[] | undefined {
  const [root = '', ...rest] = segments;
  let context = root;
  const steps: Step[] = [];
  for (const [index, segment] of rest.entries()) {
    const [name = '', wanted] = segment.split(':');
    const child = `${context}.${name}`;
    const path = r4Model().pathsDefinedElsewhere[child] ?? child;
    const choices = r4Model().choiceTypePaths[path];
    let options: Option[];
    if (choices !== undefined) {
      options = choices.map((suffix) => ({ key: name + suffix, type: choiceType(suffix) }));
    } else {
      const type = r4Model().path2Type[path];
      if (type === undefined) return undefined;
      options = [{ key: name, type: type === SYSTEM_STRING ? 'string' : type }];
    }
    if (wanted !== undefined) options = options.filter((o) => o.type === wanted);
    const last = index === rest.length - 1;
    const [only] = options;
    if (!last && (options.length !== 1 || only === undefined || only.type === 'Resource')) return undefined;
    if (only !== undefined) context = contextPath(path, only.type);
    steps.push({ options });
  }
  return steps;
}

function push(out: SearchValue[], data: unknown, type: string): void {
  if (data === null || data === undefined) return;
  if (!Array.isArray(data)) {
    out.push({ type, data });
    return;
  }
  for (const item of data) if (item !== null && item !== undefined) out.push({ type, data: item });
}

/**
 * The FHIR types of the values a plain path branch selects (`CodeableConcept`, `decimal`...), or
 * undefined when the branch is not a plain path (compileFastPath would return undefined).
 */
export function fastPathTypes(branch: string): string[] | undefined {
  const segments = segmentsOf(branch);
  const steps = segments === undefined ? undefined : planSteps(segments);
  return steps?.at(-1)?.options.map((o) => o.type);
}

/**
 * Compiles a plain path branch, or returns undefined when the branch needs the general engine.
 * @param branch - one union branch of a search parameter expression, `as` already rewritten to ofType
 */
export function compileFastPath(branch: string): SearchValueExtractor | undefined {
  const segments = segmentsOf(branch);
  const steps = segments === undefined ? undefined : planSteps(segments);
  const root = segments?.[0];
  if (steps === undefined || root === undefined) return undefined;
  return (resource: FhirResource) => {
    if (resource.resourceType !== root) return [];
    let nodes: SearchValue[] = [{ type: root, data: resource }];
    for (const { options } of steps) {
      const next: SearchValue[] = [];
      for (const node of nodes) {
        if (typeof node.data !== 'object' || node.data === null) continue;
        const data = node.data as Record<string, unknown>;
        for (const { key, type } of options) push(next, data[key], type);
      }
      if (next.length === 0) return next;
      nodes = next;
    }
    return nodes;
  };
}
