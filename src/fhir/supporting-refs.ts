import { parseReference } from './references.js';
import type { FhirResource, ResourceKey } from './resource.js';

/**
 * Resource types an export adds as supporting resources when a resource in the output refers to them.
 * None of them is in the Patient compartment, so a patient-level export would otherwise leave the
 * references dangling. Device is included because R4 leaves it out of the compartment although most
 * Devices belong to one patient. See "Bulk Data Export: patient-level" in
 * https://hl7.org/fhir/uv/bulkdata/export.html.
 */
export const SUPPORTING_TYPES: ReadonlySet<string> = new Set([
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Location',
  'Medication',
  'Device',
]);

/**
 * Every reference anywhere in `resource` (any `reference` string, contained resources and extensions
 * included) to a {@link SUPPORTING_TYPES} resource, de-duplicated, in order of first appearance.
 * Contained (`#x`), conditional and `urn:uuid:` references are skipped: they name no stored resource.
 * Absolute URLs count by their `Type/id` tail.
 * @param resource - a parsed resource
 */
export function supportingRefs(resource: FhirResource): ResourceKey[] {
  const out: ResourceKey[] = [];
  walk(resource, out);
  return out;
}

function walk(node: unknown, out: ResourceKey[]): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) walk(item, out);
    return;
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === 'reference' && typeof value === 'string') add(value, out);
    else if (typeof value === 'object') walk(value, out);
  }
}

function add(reference: string, out: ResourceKey[]): void {
  const parsed = parseReference(reference);
  const type = parsed?.type;
  if (parsed === undefined || type === undefined || !SUPPORTING_TYPES.has(type)) return;
  if (!out.some((k) => k.type === type && k.id === parsed.id)) out.push({ type, id: parsed.id });
}
