import type { FhirResource } from '../fhir/index.js';
import {
  ALLERGENS,
  ALLERGY_ACTIVE,
  ALLERGY_CONFIRMED,
  CLINICAL_ACTIVE,
  CLINICAL_RESOLVED,
  CONDITION_CATEGORY,
  DRUGS,
  REACTIONS,
  VERIFICATION_CONFIRMED,
} from './clinical-codes.js';
import type { Disorder } from './clinical-codes.js';
import { ref } from './codes.js';
import type { Concept, Ref } from './codes.js';
import { formatDate } from './dates.js';
import type { EncounterState } from './encounter.js';
import type { PatientState } from './patient.js';

/** Build a Condition diagnosed at `enc`; acute ones resolve a few weeks later. */
export function makeCondition(p: PatientState, enc: EncounterState, disorder: Disorder): FhirResource {
  const condition: FhirResource = {
    resourceType: 'Condition',
    id: p.header.ids.next(),
    clinicalStatus: disorder.chronic ? CLINICAL_ACTIVE : CLINICAL_RESOLVED,
    verificationStatus: VERIFICATION_CONFIRMED,
    category: [CONDITION_CATEGORY],
    code: disorder.code,
    subject: p.patientRef,
    encounter: enc.ref,
    onsetDateTime: enc.start,
    recordedDate: enc.start,
  };
  if (!disorder.chronic) condition.abatementDateTime = formatDate(enc.day + p.header.prng.int(5, 30));
  return condition;
}

/** Build a MedicationRequest for DRUGS[drugIndex]; about a third point at the shared Medication. */
export function makeMedicationRequest(
  p: PatientState,
  enc: EncounterState,
  drug: { index: number; reason?: Ref; chronic: boolean },
): FhirResource {
  const { prng, ids } = p.header;
  const d = DRUGS[drug.index]!;
  const request: FhirResource = {
    resourceType: 'MedicationRequest',
    id: ids.next(),
    status: drug.chronic ? 'active' : 'completed',
    intent: 'order',
  };
  if (prng.chance(0.33)) request.medicationReference = p.shared.medications[drug.index]!;
  else request.medicationCodeableConcept = d.code;
  request.subject = p.patientRef;
  request.encounter = enc.ref;
  request.authoredOn = enc.start;
  request.requester = enc.practitioner;
  if (drug.reason !== undefined) request.reasonReference = [drug.reason];
  request.dosageInstruction = [{ sequence: 1, text: d.dosage }];
  return request;
}

/** Build a completed Procedure performed during `enc`. */
export function makeProcedure(p: PatientState, enc: EncounterState, code: Concept): FhirResource {
  return {
    resourceType: 'Procedure',
    id: p.header.ids.next(),
    status: 'completed',
    code,
    subject: p.patientRef,
    encounter: enc.ref,
    performedPeriod: { start: enc.start, end: enc.end },
    performer: [{ actor: enc.practitioner }],
    location: p.locationRef,
  };
}

/** Build a completed Immunization given during `enc`. */
export function makeImmunization(p: PatientState, enc: EncounterState, vaccine: Concept): FhirResource {
  return {
    resourceType: 'Immunization',
    id: p.header.ids.next(),
    status: 'completed',
    vaccineCode: vaccine,
    patient: p.patientRef,
    encounter: enc.ref,
    occurrenceDateTime: enc.start,
    primarySource: true,
    location: p.locationRef,
    lotNumber: 'LOT' + p.header.prng.int(10000, 99999),
    performer: [{ actor: enc.practitioner }],
  };
}

/** Build an AllergyIntolerance recorded at `enc`. */
export function makeAllergy(p: PatientState, enc: EncounterState): FhirResource {
  const { prng, ids } = p.header;
  const allergen = prng.pick(ALLERGENS);
  return {
    resourceType: 'AllergyIntolerance',
    id: ids.next(),
    clinicalStatus: ALLERGY_ACTIVE,
    verificationStatus: ALLERGY_CONFIRMED,
    type: 'allergy',
    category: [allergen.category],
    criticality: prng.chance(0.8) ? 'low' : 'high',
    code: allergen.code,
    patient: p.patientRef,
    encounter: enc.ref,
    recordedDate: enc.start,
    reaction: [
      { manifestation: [prng.pick(REACTIONS)], severity: prng.pick(['mild', 'moderate', 'severe']) },
    ],
  };
}

/** Build a Device used by the patient. */
export function makeDevice(p: PatientState, type: Concept): FhirResource {
  const { prng, ids } = p.header;
  return {
    resourceType: 'Device',
    id: ids.next(),
    status: 'active',
    manufacturer: 'Acme Medical Devices',
    lotNumber: 'D' + prng.int(100000, 999999),
    deviceName: [{ name: type.text, type: 'user-friendly-name' }],
    type,
    patient: p.patientRef,
  };
}

/** A reference to a resource built by this module. */
export function refTo(resource: FhirResource): Ref {
  return ref(resource.resourceType, resource.id!);
}
