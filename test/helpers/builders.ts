import type { FhirResource } from '../../src/fhir/index.js';

/** A minimal valid Patient. */
export function makePatient(id: string, extra: Record<string, unknown> = {}): FhirResource {
  return { resourceType: 'Patient', id, name: [{ family: `Family-${id}` }], ...extra };
}

/** A minimal Observation about a patient. */
export function makeObservation(
  id: string,
  patientId: string,
  extra: Record<string, unknown> = {},
): FhirResource {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient/${patientId}` },
    ...extra,
  };
}

/** A Group with the given member references. */
export function makeGroup(id: string, members: string[], extra: Record<string, unknown> = {}): FhirResource {
  return {
    resourceType: 'Group',
    id,
    type: 'person',
    actual: true,
    member: members.map((reference) => ({ entity: { reference } })),
    ...extra,
  };
}

/** A Provenance of the given target references, recorded by one Practitioner. */
export function makeProvenance(id: string, targets: string[]): FhirResource {
  return {
    resourceType: 'Provenance',
    id,
    target: targets.map((reference) => ({ reference })),
    recorded: '2024-01-01T00:00:00Z',
    agent: [{ who: { reference: 'Practitioner/dr' } }],
  };
}
