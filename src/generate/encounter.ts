import type { FhirResource } from '../fhir/index.js';
import { AMBULATORY, EMERGENCY, INPATIENT } from './clinical-codes.js';
import type { EncounterKind } from './clinical-codes.js';
import { ref } from './codes.js';
import type { Ref } from './codes.js';
import { formatDateTime } from './dates.js';
import type { PatientState } from './patient.js';

/** One encounter, with the formatted times that its observations and claims repeat. */
export interface EncounterState {
  readonly ref: Ref;
  readonly day: number;
  readonly start: string;
  readonly end: string;
  readonly kind: EncounterKind;
  readonly practitioner: Ref;
}

function pickKind(u: number, k: number): EncounterKind {
  if (u < 0.04) return INPATIENT;
  if (u < 0.11) return EMERGENCY;
  return AMBULATORY[k % AMBULATORY.length]!;
}

/** Build an Encounter on `day`, push it to `out`, and return its state. */
export function makeEncounter(p: PatientState, day: number, out: FhirResource[]): EncounterState {
  const { prng, ids } = p.header;
  const kind = pickKind(prng.float(), prng.int(0, 3));
  const startSecond = prng.int(8 * 3600, 17 * 3600);
  const endSecond = kind.inpatient
    ? startSecond + prng.int(1, 6) * 86400
    : startSecond + prng.int(15, 90) * 60;
  const practitioners = p.shared.practitioners;
  // Usually the patient's own practitioner; otherwise a colleague at the same organization.
  const colleague = (p.header.gp + p.shared.providers.length * prng.int(1, 4)) % practitioners.length;
  const practitioner = prng.chance(0.7) ? p.gpRef : practitioners[colleague]!;
  const id = ids.next();
  const start = formatDateTime(day, startSecond);
  const end = formatDateTime(day, endSecond);
  out.push({
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: kind.classCode,
    type: [kind.type],
    subject: p.patientRef,
    participant: [{ individual: practitioner }],
    period: { start, end },
    location: [{ location: p.locationRef }],
    serviceProvider: p.providerRef,
  });
  return { ref: ref('Encounter', id), day, start, end, kind, practitioner };
}
