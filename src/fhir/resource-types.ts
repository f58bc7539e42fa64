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

/**
 * Types the server stores besides the R4 ones: the SQL on FHIR v2 `ViewDefinition`, which later FHIR
 * versions define and R4 does not. They have REST endpoints and scopes, but no Bulk Data export.
 */
export const NON_R4_STORED_TYPES: ReadonlySet<string> = new Set<string>(['ViewDefinition']);

/**
 * True when the server stores resources of `type`: an R4 type or one of {@link NON_R4_STORED_TYPES}.
 * @param type - any value, typically a URL segment, a scope's type or a body's resourceType
 */
export function isStoredType(type: unknown): type is string {
  return isResourceType(type) || (typeof type === 'string' && NON_R4_STORED_TYPES.has(type));
}
