import type { FhirResource } from '../fhir/index.js';
import { patientCompartmentRefs } from '../fhir/index.js';

/**
 * Whether a stored version lies in the Patient compartment of one of `patients` (or of any patient),
 * judged from its JSON: for versions the compartment index no longer describes (superseded or deleted).
 */
export function inCompartment(r: { json: string }, patients: string[] | 'all'): boolean {
  const refs = patientCompartmentRefs(JSON.parse(r.json) as FhirResource).map((x) => x.patientId);
  if (patients === 'all') return refs.length > 0;
  return refs.some((p) => patients.includes(p));
}

/** The patients whose compartment holds a stored version, judged from its JSON. */
export function compartmentOwners(r: { type: string; id: string; json: string }): string[] {
  if (r.type === 'Patient') return [r.id];
  return [...new Set(patientCompartmentRefs(JSON.parse(r.json) as FhirResource).map((x) => x.patientId))];
}
