import { parseReference } from './references.js';
import type { FhirResource } from './resource.js';

/** One typed `Provenance.target`. */
export interface ProvenanceTarget {
  type: string;
  id: string;
}

/**
 * The typed literal references of `Provenance.target` (https://hl7.org/fhir/R4/provenance.html), in
 * order, duplicates kept. A `urn:uuid:` or unparsable target names no resource type, so it can never
 * be a resource of an export and is left out: the export path and the target index both use this list.
 */
export function provenanceTargets(resource: FhirResource): ProvenanceTarget[] {
  const out: ProvenanceTarget[] = [];
  const targets = Array.isArray(resource.target) ? (resource.target as { reference?: unknown }[]) : [];
  for (const t of targets) {
    const ref = typeof t?.reference === 'string' ? parseReference(t.reference) : undefined;
    if (ref?.type) out.push({ type: ref.type, id: ref.id });
  }
  return out;
}
