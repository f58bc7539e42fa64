import { Buffer } from 'node:buffer';
import type { FhirResource } from '../fhir/index.js';
import { DOC_CATEGORY, DOC_TYPES } from './clinical-codes.js';
import { hl7 } from './codes.js';
import type { Ref } from './codes.js';
import type { EncounterState } from './encounter.js';
import type { Vitals } from './observations.js';
import type { PatientState } from './patient.js';

const AUTHOR = hl7('provenance-participant-type', 'author', 'Author');
const CREATE = hl7('v3-DataOperation', 'CREATE', 'create');

/** Build a clinical note for `enc` with its text inline as a base64 attachment. */
export function makeDocument(
  p: PatientState,
  enc: EncounterState,
  note: { vitals: Vitals; problems: readonly string[] },
): FhirResource {
  const { prng, ids } = p.header;
  const type = prng.pick(DOC_TYPES);
  const v = note.vitals;
  const text =
    type.text +
    ' for ' +
    p.displayName +
    '\nEncounter: ' +
    enc.kind.type.text +
    ' on ' +
    enc.start.slice(0, 10) +
    '\nVitals: heart rate ' +
    v.heartRate +
    '/min, blood pressure ' +
    v.systolic +
    '/' +
    v.diastolic +
    ' mmHg, weight ' +
    v.weightKg +
    ' kg.\nProblems: ' +
    (note.problems.length > 0 ? note.problems.join('; ') : 'none recorded') +
    '.\nPlan: continue current treatment; follow up in ' +
    prng.int(2, 12) +
    ' months.\n';
  const data = Buffer.from(text, 'utf8');
  return {
    resourceType: 'DocumentReference',
    id: ids.next(),
    status: 'current',
    docStatus: 'final',
    type,
    category: [DOC_CATEGORY],
    subject: p.patientRef,
    date: enc.end,
    author: [enc.practitioner],
    custodian: p.providerRef,
    content: [
      {
        attachment: {
          contentType: 'text/plain; charset=utf-8',
          language: 'en-US',
          data: data.toString('base64'),
          size: data.length,
          title: type.text,
          creation: enc.end,
        },
      },
    ],
    context: { encounter: [enc.ref], period: { start: enc.start, end: enc.end } },
  };
}

/** Build the Provenance that attributes `targets` to the patient's practitioner. */
export function makeProvenance(p: PatientState, targets: readonly Ref[], recorded: string): FhirResource {
  return {
    resourceType: 'Provenance',
    id: p.header.ids.next(),
    target: targets,
    recorded,
    activity: CREATE,
    agent: [{ type: AUTHOR, who: p.gpRef, onBehalfOf: p.providerRef }],
  };
}
