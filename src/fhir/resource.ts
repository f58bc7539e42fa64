/** Minimal shape of a FHIR resource as parsed JSON: fhirhose treats the rest as opaque. */
export interface FhirResource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** A `Type/id` pair. */
export interface ResourceKey {
  type: string;
  id: string;
}

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;
const TYPE_RE = /^[A-Z][A-Za-z]{1,63}$/;

/** True when `id` is a valid FHIR id (R4 `id` datatype). */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_RE.test(id);
}

/** True when `type` looks like a FHIR resource type name. */
export function isTypeName(type: unknown): type is string {
  return typeof type === 'string' && TYPE_RE.test(type);
}

/** True when `value` is a JSON object with a string resourceType. */
export function isResource(value: unknown): value is FhirResource {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { resourceType?: unknown }).resourceType === 'string'
  );
}
