// Small helpers that build FHIR datatypes. Vocabulary objects are frozen because the generator
// shares them between resources: a consumer that mutates a resource must copy it first.

/** A FHIR CodeableConcept with one coding. */
export interface Concept {
  readonly coding: readonly [{ readonly system: string; readonly code: string; readonly display: string }];
  readonly text: string;
}

/** A FHIR Reference. */
export interface Ref {
  readonly reference: string;
  readonly display?: string;
}

export const SNOMED = 'http://snomed.info/sct';
export const LOINC = 'http://loinc.org';
export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const CVX = 'http://hl7.org/fhir/sid/cvx';
export const UCUM = 'http://unitsofmeasure.org';
export const TERMINOLOGY = 'http://terminology.hl7.org/CodeSystem/';
export const ID_BASE = 'https://fhirhose.example/id/';

/** A frozen single-coding CodeableConcept. */
export function concept(system: string, code: string, display: string): Concept {
  return Object.freeze({
    coding: Object.freeze([Object.freeze({ system, code, display })]) as Concept['coding'],
    text: display,
  });
}

/** A frozen CodeableConcept from an HL7 terminology code system (`TERMINOLOGY` + name). */
export function hl7(codeSystem: string, code: string, display: string): Concept {
  return concept(TERMINOLOGY + codeSystem, code, display);
}

/** A frozen reference `type/id`. */
export function ref(type: string, id: string, display?: string): Ref {
  return Object.freeze(
    display === undefined ? { reference: type + '/' + id } : { reference: type + '/' + id, display },
  );
}

/** Round to one decimal place. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Round to whole cents. */
export function cents(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Clamp `x` into [min, max]. */
export function clamp(x: number, min: number, max: number): number {
  return x < min ? min : x > max ? max : x;
}
