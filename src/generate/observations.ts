import type { FhirResource } from '../fhir/index.js';
import { CATEGORY_LAB, CATEGORY_VITALS } from './clinical-codes.js';
import { clamp, concept, round1, LOINC, UCUM } from './codes.js';
import type { Concept } from './codes.js';
import type { EncounterState } from './encounter.js';
import type { PatientState } from './patient.js';

/** The vital signs of one encounter, repeated in its clinical note. */
export interface Vitals {
  readonly heartRate: number;
  readonly systolic: number;
  readonly diastolic: number;
  readonly weightKg: number;
}

interface Measure {
  readonly code: Concept;
  readonly unit: string;
}

function measure(code: string, display: string, unit: string): Measure {
  return Object.freeze({ code: concept(LOINC, code, display), unit });
}

const HEART_RATE = measure('8867-4', 'Heart rate', '/min');
const BP_PANEL = measure('85354-9', 'Blood pressure panel with all children optional', 'mm[Hg]');
const SYSTOLIC = measure('8480-6', 'Systolic blood pressure', 'mm[Hg]');
const DIASTOLIC = measure('8462-4', 'Diastolic blood pressure', 'mm[Hg]');
const WEIGHT = measure('29463-7', 'Body weight', 'kg');
const HEIGHT = measure('8302-2', 'Body height', 'cm');
const BMI = measure('39156-5', 'Body mass index (BMI) [Ratio]', 'kg/m2');

interface Lab extends Measure {
  readonly mean: number;
  readonly sd: number;
  readonly diabeticMean?: number;
}

function lab(
  code: string,
  display: string,
  unit: string,
  mean: number,
  sd: number,
  diabeticMean?: number,
): Lab {
  return Object.freeze({ ...measure(code, display, unit), mean, sd, diabeticMean });
}

const LIPID_PANEL: readonly Lab[] = [
  lab('2093-3', 'Cholesterol [Mass/volume] in Serum or Plasma', 'mg/dL', 190, 30),
  lab('2085-9', 'Cholesterol in HDL [Mass/volume] in Serum or Plasma', 'mg/dL', 52, 10),
  lab('18262-6', 'Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay', 'mg/dL', 112, 25),
  lab('2571-8', 'Triglyceride [Mass/volume] in Serum or Plasma', 'mg/dL', 140, 40),
];
const METABOLIC_PANEL: readonly Lab[] = [
  lab('2339-0', 'Glucose [Mass/volume] in Blood', 'mg/dL', 92, 9, 155),
  lab('2160-0', 'Creatinine [Mass/volume] in Serum or Plasma', 'mg/dL', 0.9, 0.15),
  lab('2951-2', 'Sodium [Moles/volume] in Serum or Plasma', 'mmol/L', 140, 2),
  lab('2823-3', 'Potassium [Moles/volume] in Serum or Plasma', 'mmol/L', 4.2, 0.3),
];
const HBA1C = lab('4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', '%', 5.3, 0.3, 7.6);
const HEMOGLOBIN = lab('718-7', 'Hemoglobin [Mass/volume] in Blood', 'g/dL', 14, 1.1);

function quantity(value: number, unit: string): Record<string, unknown> {
  return { value, unit, system: UCUM, code: unit };
}

function observation(p: PatientState, enc: EncounterState, category: Concept, m: Measure): FhirResource {
  return {
    resourceType: 'Observation',
    id: p.header.ids.next(),
    status: 'final',
    category: [category],
    code: m.code,
    subject: p.patientRef,
    encounter: enc.ref,
    effectiveDateTime: enc.start,
    issued: enc.start,
  };
}

function vital(p: PatientState, enc: EncounterState, m: Measure, value: number): FhirResource {
  const obs = observation(p, enc, CATEGORY_VITALS, m);
  obs.valueQuantity = quantity(value, m.unit);
  return obs;
}

/** Build the vital-sign Observations of an encounter (height when asked); also return the values. */
export function makeVitals(
  p: PatientState,
  enc: EncounterState,
  withHeight: boolean,
): { vitals: Vitals; observations: FhirResource[] } {
  const { prng, hypertensive } = p.header;
  const heightM = p.heightCm / 100;
  const bmi = round1(clamp(p.bmi + prng.normal(0, 0.6), 16, 55));
  const weightKg = round1(bmi * heightM * heightM);
  const heartRate = Math.round(prng.normal(72, 8));
  const systolic = Math.round(prng.normal(hypertensive ? 142 : 118, 9));
  const diastolic = Math.round(systolic * 0.62 + prng.normal(4, 5));
  const out = [vital(p, enc, HEART_RATE, heartRate)];
  const bp = observation(p, enc, CATEGORY_VITALS, BP_PANEL);
  bp.component = [
    { code: SYSTOLIC.code, valueQuantity: quantity(systolic, SYSTOLIC.unit) },
    { code: DIASTOLIC.code, valueQuantity: quantity(diastolic, DIASTOLIC.unit) },
  ];
  out.push(bp);
  out.push(vital(p, enc, WEIGHT, weightKg));
  if (withHeight) out.push(vital(p, enc, HEIGHT, round1(p.heightCm)));
  out.push(vital(p, enc, BMI, bmi));
  return { vitals: { heartRate, systolic, diastolic, weightKg }, observations: out };
}

function labResult(p: PatientState, enc: EncounterState, l: Lab): FhirResource {
  const mean = p.header.diabetic && l.diabeticMean !== undefined ? l.diabeticMean : l.mean;
  const value =
    mean < 10
      ? Math.round(p.header.prng.normal(mean, l.sd) * 100) / 100
      : round1(p.header.prng.normal(mean, l.sd));
  const obs = observation(p, enc, CATEGORY_LAB, l);
  obs.valueQuantity = quantity(value, l.unit);
  return obs;
}

/** Build the laboratory Observations of an encounter: sometimes a panel, HbA1c for diabetics. */
export function makeLabs(p: PatientState, enc: EncounterState): FhirResource[] {
  const out: FhirResource[] = [];
  const { prng, diabetic } = p.header;
  const u = prng.float();
  const panel = u < 0.07 ? LIPID_PANEL : u < 0.14 ? METABOLIC_PANEL : undefined;
  if (panel !== undefined) for (const l of panel) out.push(labResult(p, enc, l));
  if (diabetic) out.push(labResult(p, enc, HBA1C));
  if (prng.chance(0.1)) out.push(labResult(p, enc, HEMOGLOBIN));
  return out;
}
