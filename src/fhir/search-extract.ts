import { fhirpathEngine, r4Model } from './fhirpath-lazy.js';
import type { FhirResource } from './resource.js';
import { compileFastPath, fastPathTypes } from './search-path.js';

// Evaluates a search parameter's FHIRPath expression and returns the values with their FHIR types,
// which the matchers need to tell a Period from a Quantity. See https://hl7.org/fhir/R4/search.html#table.

/** One value a search parameter expression selects: its FHIR type name and its JSON. */
export interface SearchValue {
  /** A FHIR type name such as `CodeableConcept`, `dateTime`, `string` or `boolean`. */
  type: string;
  data: unknown;
}

/** Options for compileExtractor. */
export interface ExtractorOptions {
  /** Walk plain paths directly instead of through fhirpath.js (same values, faster); default true. */
  fastPath?: boolean;
}

/** Reads the values of one search parameter from a resource. */
export type SearchValueExtractor = (resource: FhirResource) => SearchValue[];

const SYSTEM_TYPES: Record<string, string> = {
  'System.String': 'string',
  'System.Boolean': 'boolean',
  'System.Integer': 'integer',
  'System.Decimal': 'decimal',
  'System.Date': 'date',
  'System.DateTime': 'dateTime',
  'System.Time': 'time',
  'System.Quantity': 'Quantity',
};

/** Splits a FHIRPath expression at the `|` operators outside parentheses and quotes. */
function splitUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === "'") quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && c === '|') {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts;
}

/**
 * `x as T` and `x.as(T)` fail on collections of several items (`Observation.component.value as
 * Quantity`), while `ofType(T)` filters them, which is what R4 search means.
 */
function toOfType(expression: string): string {
  return expression
    .replace(/\.as\((\w+)\)/g, '.ofType($1)')
    .replace(/\(([^()|]+?) as (\w+)\)/g, '($1.ofType($2))');
}

const RESOLVE_RE = /^(.*)\.where\(resolve\(\) is (\w+)\)$/;

/**
 * `where(resolve() is Patient)` would fetch the target; instead keep the References whose text
 * (`Patient/1`, `http://x/fhir/Patient/1`) or `type` names the type.
 */
function referencesTo(type: string): (value: SearchValue) => boolean {
  const relative = `${type}/`;
  const absolute = `/${type}/`;
  return (value) => {
    if (value.type !== 'Reference') return false;
    const ref = value.data as { reference?: unknown; type?: unknown };
    if (ref.type === type) return true;
    const text = ref.reference;
    return typeof text === 'string' && (text.startsWith(relative) || text.includes(absolute));
  };
}

interface NodeLike {
  fhirNodeDataType: string | null;
  data: unknown;
}

function isNode(item: unknown): item is NodeLike {
  return typeof item === 'object' && item !== null && 'fhirNodeDataType' in item && 'data' in item;
}

/**
 * fhirpath.js wraps some primitives in its own classes (decimals as FP_Decimal, System dates as
 * FP_DateTime): turn them back into JSON values. Plain objects and arrays are FHIR JSON already.
 */
function toJsonValue(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  const proto: unknown = Object.getPrototypeOf(data);
  if (proto === Object.prototype || proto === null) return data;
  const toNumber = (data as { toNumber?: unknown }).toNumber;
  return typeof toNumber === 'function' ? (toNumber.call(data) as number) : String(data);
}

function toSearchValue(item: unknown): SearchValue | undefined {
  if (isNode(item)) {
    if (item.data === null || item.data === undefined) return undefined;
    const type = item.fhirNodeDataType ?? typeof item.data;
    return { type: SYSTEM_TYPES[type] ?? type, data: toJsonValue(item.data) };
  }
  if (typeof item === 'boolean') return { type: 'boolean', data: item };
  if (typeof item === 'number') return { type: 'decimal', data: item };
  if (typeof item === 'string') return { type: 'string', data: item };
  return undefined;
}

/**
 * Compiles a search parameter's FHIRPath expression (R4 model) once, for many resources. The
 * expression is rewritten where fhirpath.js cannot run the R4 text as is (see toOfType, referencesTo).
 * @param expression - a SearchParameter.expression restricted to one resource type
 * @throws Error from fhirpath when the expression does not parse
 */
export function compileExtractor(expression: string, options: ExtractorOptions = {}): SearchValueExtractor {
  const fastPath = options.fastPath ?? true;
  const branches = splitUnion(expression).map((branch) => compileBranch(branch, fastPath));
  const [only] = branches;
  if (branches.length === 1 && only !== undefined) return only;
  return (resource) => branches.flatMap((branch) => branch(resource));
}

/**
 * Each union branch is compiled on its own: fhirpath.js de-duplicates a union by deep comparison,
 * which costs more than the search itself, and search matching does not need the de-duplication.
 */
function compileBranch(branch: string, fastPath: boolean): SearchValueExtractor {
  const resolve = RESOLVE_RE.exec(branch);
  const path = toOfType(resolve?.[1] ?? branch);
  const keep = resolve?.[2] === undefined ? undefined : referencesTo(resolve[2]);
  const fast = fastPath ? compileFastPath(path) : undefined;
  if (fast !== undefined) return keep === undefined ? fast : (resource) => fast(resource).filter(keep);
  const evaluate = fhirpathEngine().compile(path, r4Model(), { resolveInternalTypes: false });
  return (resource) => {
    const out: SearchValue[] = [];
    for (const item of evaluate(resource)) {
      const value = toSearchValue(item);
      if (value !== undefined && (keep === undefined || keep(value))) out.push(value);
    }
    return out;
  };
}

/**
 * The FHIR types of the values `expression` selects when every union branch is a plain path, whose
 * values are taken from the JSON as they are (no `exists()`, `!=` or other computed value), so each
 * value's text occurs in the resource; undefined otherwise.
 */
export function storedValueTypes(expression: string): Set<string> | undefined {
  const types = new Set<string>();
  for (const branch of splitUnion(expression)) {
    const resolve = RESOLVE_RE.exec(branch);
    const found = fastPathTypes(toOfType(resolve?.[1] ?? branch));
    if (found === undefined) return undefined;
    for (const type of found) types.add(type);
  }
  return types;
}
