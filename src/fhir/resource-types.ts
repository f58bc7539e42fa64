import RESOURCE_TYPE_LIST from './data/resource-types.json' with { type: 'json' };

/**
 * Every concrete FHIR R4 (4.0.1) resource type, generated from the core StructureDefinitions by
 * `scripts/gen-fhir-tables.mjs`. See https://hl7.org/fhir/R4/resourcelist.html.
 */
export const RESOURCE_TYPES: ReadonlySet<string> = new Set<string>(RESOURCE_TYPE_LIST);

/**
 * True when `type` names a concrete R4 resource type (case-sensitive: `patient` is not one).
 * @param type - any value, typically a `_type` entry or a reference's type segment
 */
export function isResourceType(type: unknown): type is string {
  return typeof type === 'string' && RESOURCE_TYPES.has(type);
}
