import { concept, hl7, CVX, LOINC, RXNORM, SNOMED } from './codes.js';
import type { Concept } from './codes.js';

/** An RxNorm drug with the dose form used for its shared Medication resource. */
export interface Drug {
  readonly code: Concept;
  readonly form: string;
  readonly dosage: string;
}

function drug(code: string, display: string, form: string, dosage: string): Drug {
  return Object.freeze({ code: concept(RXNORM, code, display), form, dosage });
}

/** Drugs, also emitted once each as shared Medication resources (same order). */
export const DRUGS: readonly Drug[] = [
  drug(
    '860975',
    '24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet',
    'Tablet',
    'Take 1 tablet daily with the evening meal',
  ),
  drug('314076', 'lisinopril 10 MG Oral Tablet', 'Tablet', 'Take 1 tablet daily'),
  drug('197361', 'amlodipine 5 MG Oral Tablet', 'Tablet', 'Take 1 tablet daily'),
  drug('310798', 'Hydrochlorothiazide 25 MG Oral Tablet', 'Tablet', 'Take 1 tablet every morning'),
  drug('316672', 'Simvastatin 10 MG Oral Tablet', 'Tablet', 'Take 1 tablet at bedtime'),
  drug('259255', 'atorvastatin 80 MG Oral Tablet', 'Tablet', 'Take 1 tablet daily'),
  drug(
    '745679',
    '200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler',
    'Inhaler',
    'Inhale 2 puffs every 4 hours as needed',
  ),
  drug(
    '895994',
    '120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler',
    'Inhaler',
    'Inhale 2 puffs twice daily',
  ),
  drug(
    '834061',
    'penicillin V potassium 250 MG Oral Tablet',
    'Tablet',
    'Take 1 tablet 4 times daily for 10 days',
  ),
  drug('308182', 'amoxicillin 250 MG Oral Capsule', 'Capsule', 'Take 1 capsule 3 times daily for 7 days'),
  drug('312938', 'sertraline 100 MG Oral Tablet', 'Tablet', 'Take 1 tablet daily'),
  drug('849574', 'naproxen sodium 220 MG Oral Tablet', 'Tablet', 'Take 1 tablet every 12 hours as needed'),
  drug('310965', 'ibuprofen 200 MG Oral Tablet', 'Tablet', 'Take 1 to 2 tablets every 6 hours as needed'),
  drug('313782', 'acetaminophen 325 MG Oral Tablet', 'Tablet', 'Take 2 tablets every 6 hours as needed'),
];

/** Indexes into DRUGS of over-the-counter pain relievers, prescribed without a reason. */
export const OTC_DRUGS: readonly number[] = [11, 12, 13];

/** A condition, whether it stays active, and the DRUGS indexes that may treat it. */
export interface Disorder {
  readonly code: Concept;
  readonly chronic: boolean;
  readonly drugs: readonly number[];
}

function disorder(code: string, display: string, chronic: boolean, drugs: number[]): Disorder {
  return Object.freeze({ code: concept(SNOMED, code, display), chronic, drugs: Object.freeze(drugs) });
}

export const DIABETES = disorder('44054006', 'Diabetes mellitus type 2 (disorder)', true, [0]);
export const HYPERTENSION = disorder('59621000', 'Essential hypertension (disorder)', true, [1, 2, 3]);

/** Conditions drawn at random, besides diabetes and hypertension (which drive the groups). */
export const DISORDERS: readonly Disorder[] = [
  disorder('55822004', 'Hyperlipidemia (disorder)', true, [4, 5]),
  disorder('195967001', 'Asthma (disorder)', true, [6, 7]),
  disorder('43878008', 'Streptococcal sore throat (disorder)', false, [8]),
  disorder('444814009', 'Viral sinusitis (disorder)', false, []),
  disorder('40055000', 'Chronic sinusitis (disorder)', true, [9]),
  disorder('10509002', 'Acute bronchitis (disorder)', false, [13]),
  disorder('35489007', 'Depressive disorder (disorder)', true, [10]),
  disorder('197480006', 'Anxiety disorder (disorder)', true, []),
  disorder('239873007', 'Osteoarthritis of knee (disorder)', true, [11, 12]),
  disorder('271737000', 'Anemia (disorder)', true, []),
  disorder('15777000', 'Prediabetes (finding)', true, []),
  disorder('162864005', 'Body mass index 30+ - obesity (finding)', true, []),
  disorder('49436004', 'Atrial fibrillation (disorder)', true, []),
  disorder('13645005', 'Chronic obstructive lung disease (disorder)', true, [6]),
];

export const PROCEDURES: readonly Concept[] = [
  concept(SNOMED, '430193006', 'Medication reconciliation (procedure)'),
  concept(SNOMED, '710824005', 'Assessment of health and social care needs (procedure)'),
  concept(SNOMED, '171207006', 'Depression screening (procedure)'),
  concept(SNOMED, '73761001', 'Colonoscopy (procedure)'),
  concept(SNOMED, '71651007', 'Mammography (procedure)'),
  concept(SNOMED, '399208008', 'Plain chest X-ray (procedure)'),
  concept(SNOMED, '117015009', 'Throat culture (procedure)'),
  concept(SNOMED, '76601001', 'Intramuscular injection (procedure)'),
  concept(SNOMED, '80146002', 'Appendectomy (procedure)'),
  concept(SNOMED, '5880005', 'Physical examination procedure (procedure)'),
];

export const VACCINES: readonly Concept[] = [
  concept(CVX, '140', 'Influenza, seasonal, injectable, preservative free'),
  concept(CVX, '140', 'Influenza, seasonal, injectable, preservative free'),
  concept(
    CVX,
    '208',
    'SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose',
  ),
  concept(CVX, '113', 'Td (adult) preservative free'),
  concept(CVX, '115', 'Tdap'),
  concept(CVX, '133', 'Pneumococcal conjugate PCV 13'),
  concept(CVX, '33', 'pneumococcal polysaccharide vaccine, 23 valent'),
  concept(CVX, '187', 'zoster vaccine recombinant'),
  concept(CVX, '43', 'Hep B, adult'),
  concept(CVX, '52', 'Hep A, adult'),
];

/** An allergy with its FHIR category. */
export interface Allergen {
  readonly code: Concept;
  readonly category: 'food' | 'medication' | 'environment';
}

function allergen(code: string, display: string, category: Allergen['category']): Allergen {
  return Object.freeze({ code: concept(SNOMED, code, display), category });
}

export const ALLERGENS: readonly Allergen[] = [
  allergen('91935009', 'Allergy to peanuts', 'food'),
  allergen('300913006', 'Shellfish allergy', 'food'),
  allergen('91930004', 'Allergy to eggs', 'food'),
  allergen('425525006', 'Allergy to dairy product', 'food'),
  allergen('91936005', 'Allergy to penicillin', 'medication'),
  allergen('232350006', 'House dust mite allergy', 'environment'),
  allergen('232347008', 'Dander (animal) allergy', 'environment'),
  allergen('418689008', 'Allergy to grass pollen', 'environment'),
  allergen('419474003', 'Allergy to mould', 'environment'),
];

export const REACTIONS: readonly Concept[] = [
  concept(SNOMED, '271807003', 'Eruption of skin (disorder)'),
  concept(SNOMED, '49727002', 'Cough (finding)'),
  concept(SNOMED, '267036007', 'Dyspnea (finding)'),
  concept(SNOMED, '247472004', 'Wheal (finding)'),
];

export const DEVICE_GLUCOSE_METER = concept(SNOMED, '337414009', 'Blood glucose meter (physical object)');
export const DEVICES: readonly Concept[] = [
  concept(SNOMED, '27606000', 'Crutches, device (physical object)'),
  concept(SNOMED, '87405001', 'Cane, device (physical object)'),
  concept(SNOMED, '14106009', 'Cardiac pacemaker, device (physical object)'),
  concept(SNOMED, '72506001', 'Implantable defibrillator, device (physical object)'),
];

/** Encounter kinds: FHIR v3 ActCode class, SNOMED type, and a base cost in USD. */
export interface EncounterKind {
  readonly classCode: { readonly system: string; readonly code: string; readonly display: string };
  readonly type: Concept;
  readonly cost: number;
  readonly inpatient: boolean;
}

function kind(cls: string, clsDisplay: string, code: string, display: string, cost: number): EncounterKind {
  const classCode = Object.freeze({
    system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
    code: cls,
    display: clsDisplay,
  });
  return Object.freeze({ classCode, type: concept(SNOMED, code, display), cost, inpatient: cls === 'IMP' });
}

export const AMBULATORY: readonly EncounterKind[] = [
  kind('AMB', 'ambulatory', '185349003', 'Encounter for check up (procedure)', 160),
  kind('AMB', 'ambulatory', '162673000', 'General examination of patient (procedure)', 180),
  kind('AMB', 'ambulatory', '185345009', 'Encounter for symptom (procedure)', 140),
  kind('AMB', 'ambulatory', '390906007', 'Follow-up encounter (procedure)', 120),
];
export const EMERGENCY = kind('EMER', 'emergency', '50849002', 'Emergency room admission (procedure)', 1200);
export const INPATIENT = kind(
  'IMP',
  'inpatient encounter',
  '32485007',
  'Hospital admission (procedure)',
  9000,
);

export const DOC_TYPES: readonly Concept[] = [
  concept(LOINC, '11506-3', 'Progress note'),
  concept(LOINC, '34117-2', 'History and physical note'),
];
export const DOC_CATEGORY = concept(
  'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
  'clinical-note',
  'Clinical Note',
);

export const CATEGORY_VITALS = hl7('observation-category', 'vital-signs', 'Vital Signs');
export const CATEGORY_LAB = hl7('observation-category', 'laboratory', 'Laboratory');
export const CLINICAL_ACTIVE = hl7('condition-clinical', 'active', 'Active');
export const CLINICAL_RESOLVED = hl7('condition-clinical', 'resolved', 'Resolved');
export const VERIFICATION_CONFIRMED = hl7('condition-ver-status', 'confirmed', 'Confirmed');
export const CONDITION_CATEGORY = hl7('condition-category', 'encounter-diagnosis', 'Encounter Diagnosis');
export const ALLERGY_ACTIVE = hl7('allergyintolerance-clinical', 'active', 'Active');
export const ALLERGY_CONFIRMED = hl7('allergyintolerance-verification', 'confirmed', 'Confirmed');
