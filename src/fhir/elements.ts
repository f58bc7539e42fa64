import ROOT_ELEMENTS from './data/root-elements.json' with { type: 'json' };
import { InvalidRequestError } from './errors.js';
import type { FhirResource } from './resource.js';

// The Bulk Data `_elements` parameter: keep only listed root elements, plus the mandatory ones, and tag
// the result SUBSETTED. See https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters (`_elements`)
// and https://hl7.org/fhir/R4/search.html#elements.

/** The parsed `_elements` parameter. */
export interface ElementsSpec {
  /** Elements listed without a type (`status`): they apply to every type. */
  generic: readonly string[];
  /** Elements listed as `Type.element`, by type. */
  byType: Readonly<Record<string, readonly string[]>>;
}

interface TypeElements {
  /** Root element names; a choice element `value[x]` appears as `value`. */
  elements: string[];
  /** Root elements with min >= 1 in the R4 StructureDefinition. */
  required: string[];
  /** Type suffixes of each choice element: `value` -> `Quantity`, `CodeableConcept`... */
  choices: Record<string, string[]>;
}

const TABLE = (ROOT_ELEMENTS as unknown as { types: Record<string, TypeElements> }).types;
const PARAM = '_elements';
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
const NAME_RE = /^[a-z][A-Za-z0-9]*(\[x\])?$/;

function invalid(message: string): InvalidRequestError {
  return new InvalidRequestError(`${PARAM}: ${message}`, { expression: PARAM });
}

function typeElements(type: string): TypeElements | undefined {
  return Object.hasOwn(TABLE, type) ? TABLE[type] : undefined;
}

/** True when `name` (`status`, `value`, `value[x]` or `valueQuantity`) is a root element of the type. */
function hasElement(def: TypeElements, name: string): boolean {
  const base = name.endsWith('[x]') ? name.slice(0, -3) : name;
  if (def.elements.includes(base)) return name === base || Object.hasOwn(def.choices, base);
  return Object.entries(def.choices).some(([choice, suffixes]) =>
    suffixes.some((suffix) => name === choice + suffix),
  );
}

function canonicalName(name: string): string {
  return name.endsWith('[x]') ? name.slice(0, -3) : name;
}

function parseTypedItem(
  item: string,
  type: string,
  name: string,
  exportTypes: readonly string[] | undefined,
) {
  const def = typeElements(type);
  if (def === undefined) {
    if (/^[A-Z]/.test(type)) throw invalid(`unknown resource type '${type}' in '${item}'`);
    throw invalid(`'${item}' is not a root element: only Type.element or element is allowed`);
  }
  if (exportTypes !== undefined && !exportTypes.includes(type)) {
    throw invalid(`'${item}' names type ${type}, which is not exported`);
  }
  if (!hasElement(def, name)) throw invalid(`'${name}' is not a root element of ${type}`);
}

/**
 * Parses the `_elements` values, comma lists of `element` or `Type.element` (root elements only).
 * A generic element must exist in at least one of the exported types.
 * @param values - the `_elements` values of the kick-off request
 * @param exportTypes - the `_type` list, when the request has one
 * @throws InvalidRequestError (expression `_elements`) for an empty item, a deeper path, an unknown
 *   type or a type outside `exportTypes`, or an element the type does not define
 */
export function parseElements(values: readonly string[], exportTypes?: readonly string[]): ElementsSpec {
  const candidates = (exportTypes ?? Object.keys(TABLE)).map(typeElements).filter((d) => d !== undefined);
  const generic = new Set<string>();
  const byType: Record<string, string[]> = {};
  for (const item of values.flatMap((v) => v.split(',')).map((s) => s.trim())) {
    if (item === '') throw invalid('an element name is empty');
    const segments = item.split('.');
    const name = segments.at(-1) ?? '';
    if (segments.length > 2 || !NAME_RE.test(name)) {
      throw invalid(`'${item}' is not a root element: only Type.element or element is allowed`);
    }
    if (segments.length === 1) {
      if (!candidates.some((def) => hasElement(def, name)))
        throw invalid(`'${name}' is not a root element of any exported type`);
      generic.add(canonicalName(name));
      continue;
    }
    const type = segments[0] ?? '';
    parseTypedItem(item, type, name, exportTypes);
    const list = (byType[type] ??= []);
    if (!list.includes(canonicalName(name))) list.push(canonicalName(name));
  }
  return { generic: [...generic], byType };
}

/** The JSON property names to keep for `type`: each choice base expands to its typed names. */
function keepSet(type: string, listed: readonly string[]): Set<string> {
  const def = typeElements(type);
  const keep = new Set<string>();
  for (const name of [...listed, ...(def?.required ?? [])]) {
    const suffixes = def !== undefined && Object.hasOwn(def.choices, name) ? def.choices[name] : undefined;
    if (suffixes === undefined) keep.add(name);
    else for (const suffix of suffixes) keep.add(name + suffix);
  }
  return keep;
}

// Per spec and type, the property names to keep: bounded by the number of types, freed with the spec.
const KEEP_CACHE = new WeakMap<ElementsSpec, Map<string, Set<string> | null>>();

/**
 * The JSON property names `_elements` keeps for a type (besides resourceType, id and meta, and the `_`
 * extensions of the kept ones), or null when the spec lists nothing for the type (exported whole).
 */
export function elementsKeepSet(resourceType: string, spec: ElementsSpec): ReadonlySet<string> | null {
  let byType = KEEP_CACHE.get(spec);
  if (byType === undefined) {
    byType = new Map();
    KEEP_CACHE.set(spec, byType);
  }
  let keep = byType.get(resourceType);
  if (keep === undefined) {
    const typed = Object.hasOwn(spec.byType, resourceType) ? (spec.byType[resourceType] ?? []) : [];
    const listed = [...spec.generic, ...typed];
    keep = listed.length === 0 ? null : keepSet(resourceType, listed);
    byType.set(resourceType, keep);
  }
  return keep;
}

/** `meta` (not modified) with the SUBSETTED tag added to its tags, unless it has it already. */
export function subsettedMeta(meta: FhirResource['meta']): NonNullable<FhirResource['meta']> {
  const tags = Array.isArray(meta?.tag) ? (meta.tag as unknown[]) : [];
  const tagged = tags.some((t) => {
    const tag = t as { system?: unknown; code?: unknown };
    return tag.system === SUBSETTED.system && tag.code === SUBSETTED.code;
  });
  return { ...meta, tag: tagged ? tags : [...tags, { ...SUBSETTED }] };
}

/**
 * Applies `_elements` to one resource: keeps `resourceType`, `id`, `meta`, the mandatory root elements
 * and the listed ones (with their `_name` primitive extensions), and adds the SUBSETTED tag to `meta.tag`.
 * The input is not modified.
 * @param resource - a parsed resource
 * @param spec - from parseElements
 * @returns the projected copy, or undefined when `spec` lists nothing for this type (export it whole)
 */
export function projectElements(resource: FhirResource, spec: ElementsSpec): FhirResource | undefined {
  const keep = elementsKeepSet(resource.resourceType, spec);
  if (keep === null) return undefined;
  const out: FhirResource = { resourceType: resource.resourceType };
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'resourceType') continue;
    const name = key.startsWith('_') ? key.slice(1) : key;
    if (key === 'meta') out.meta = subsettedMeta(resource.meta);
    else if (name === 'id' || keep.has(name)) out[key] = value;
  }
  out.meta ??= subsettedMeta(undefined);
  return out;
}
