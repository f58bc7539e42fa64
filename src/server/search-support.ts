import { compartmentParams } from '../fhir/index.js';

// The R4 types whose `patient` / `subject` search parameter can target a Patient
// (FHIR 4.0.1 search-parameters.json; subject params that cannot point at a Patient are left out).
const R4_PATIENT_PARAM: readonly string[] = [
  'Account',
  'AllergyIntolerance',
  'Appointment',
  'AppointmentResponse',
  'AuditEvent',
  'Basic',
  'BodyStructure',
  'CarePlan',
  'CareTeam',
  'ChargeItem',
  'Claim',
  'ClaimResponse',
  'ClinicalImpression',
  'Communication',
  'CommunicationRequest',
  'Composition',
  'Condition',
  'Consent',
  'Contract',
  'Coverage',
  'CoverageEligibilityRequest',
  'CoverageEligibilityResponse',
  'DetectedIssue',
  'Device',
  'DeviceRequest',
  'DeviceUseStatement',
  'DiagnosticReport',
  'DocumentManifest',
  'DocumentReference',
  'Encounter',
  'EnrollmentRequest',
  'EpisodeOfCare',
  'ExplanationOfBenefit',
  'FamilyMemberHistory',
  'Flag',
  'Goal',
  'GuidanceResponse',
  'ImagingStudy',
  'Immunization',
  'ImmunizationEvaluation',
  'ImmunizationRecommendation',
  'Invoice',
  'List',
  'MeasureReport',
  'Media',
  'MedicationAdministration',
  'MedicationDispense',
  'MedicationRequest',
  'MedicationStatement',
  'MolecularSequence',
  'NutritionOrder',
  'Observation',
  'Person',
  'Procedure',
  'Provenance',
  'QuestionnaireResponse',
  'RelatedPerson',
  'RequestGroup',
  'ResearchSubject',
  'RiskAssessment',
  'ServiceRequest',
  'Specimen',
  'SupplyDelivery',
  'Task',
  'VisionPrescription',
];
const R4_SUBJECT_PARAM: readonly string[] = [
  'Account',
  'AdverseEvent',
  'Basic',
  'CarePlan',
  'CareTeam',
  'ChargeItem',
  'ClinicalImpression',
  'Communication',
  'CommunicationRequest',
  'Composition',
  'Condition',
  'Contract',
  'DeviceRequest',
  'DeviceUseStatement',
  'DiagnosticReport',
  'DocumentManifest',
  'DocumentReference',
  'Encounter',
  'EnrollmentRequest',
  'Flag',
  'Goal',
  'GuidanceResponse',
  'ImagingStudy',
  'Invoice',
  'List',
  'MeasureReport',
  'Media',
  'MedicationAdministration',
  'MedicationDispense',
  'MedicationRequest',
  'MedicationStatement',
  'Observation',
  'Procedure',
  'QuestionnaireResponse',
  'RequestGroup',
  'RiskAssessment',
  'ServiceRequest',
  'Specimen',
  'SupplyRequest',
  'Task',
];

/**
 * Whether the store can answer reference param `param` on `type` from its Patient compartment index.
 * A compartment param has the same definition as the search param of that name
 * (https://hl7.org/fhir/R4/compartmentdefinition-patient.html). An R4 `patient` param on a type whose
 * compartment lists only `subject` is `subject.where(resolve() is Patient)`, so it is answerable too.
 */
function answerable(type: string, param: string): boolean {
  const inCompartment = compartmentParams(type);
  if (inCompartment.includes(param)) return true;
  return param === 'patient' && inCompartment.includes('subject');
}

const REFERENCE_PARAMS = new Map<string, readonly string[]>();
for (const [param, types] of [
  ['patient', R4_PATIENT_PARAM],
  ['subject', R4_SUBJECT_PARAM],
] as const) {
  for (const type of types) {
    if (answerable(type, param)) REFERENCE_PARAMS.set(type, [...(REFERENCE_PARAMS.get(type) ?? []), param]);
  }
}

/**
 * The Patient reference search parameters (`patient`, `subject`) that fhirhose answers on `type`:
 * those R4 defines for it and the store can answer exactly.
 */
export function referenceParamsOf(type: string): readonly string[] {
  return REFERENCE_PARAMS.get(type) ?? [];
}
