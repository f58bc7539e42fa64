import type { FhirResource } from '../fhir/index.js';
import { makeClaimAndEob } from './billing.js';
import type { BillItem } from './billing.js';
import {
  DEVICE_GLUCOSE_METER,
  DEVICES,
  DIABETES,
  DISORDERS,
  HYPERTENSION,
  OTC_DRUGS,
  PROCEDURES,
  VACCINES,
} from './clinical-codes.js';
import type { Disorder } from './clinical-codes.js';
import {
  makeAllergy,
  makeCondition,
  makeDevice,
  makeImmunization,
  makeMedicationRequest,
  makeProcedure,
  refTo,
} from './clinical.js';
import type { Ref } from './codes.js';
import { REF_DAY } from './dates.js';
import { makeDocument, makeProvenance } from './documents.js';
import { makeEncounter } from './encounter.js';
import type { EncounterState } from './encounter.js';
import { drawHeader } from './header.js';
import type { GenContext } from './header.js';
import { makeLabs, makeVitals } from './observations.js';
import { makePatient } from './patient.js';
import type { PatientState } from './patient.js';

const HISTORY_DAYS = 3650;

/** Sorted encounter days within the last ten years; ambulatory visits cluster, so days may repeat. */
function planDays(p: PatientState): number[] {
  const { prng } = p.header;
  const count = prng.int(2, 8);
  const days: number[] = [];
  for (let i = 0; i < count; i++) days.push(REF_DAY - prng.int(1, HISTORY_DAYS));
  return days.sort((a, b) => a - b);
}

/** Which disorders are diagnosed at which encounter. */
function planConditions(p: PatientState, encounters: number): Disorder[][] {
  const { prng, diabetic, hypertensive } = p.header;
  const at: Disorder[][] = Array.from({ length: encounters }, () => []);
  if (diabetic) at[prng.int(0, encounters - 1)]!.push(DIABETES);
  if (hypertensive) at[prng.int(0, encounters - 1)]!.push(HYPERTENSION);
  const others = prng.int(1, 3);
  for (let i = 0; i < others; i++) at[prng.int(0, encounters - 1)]!.push(prng.pick(DISORDERS));
  return at;
}

interface EncounterOutcome {
  readonly resources: FhirResource[];
  readonly items: BillItem[];
  readonly conditions: Ref[];
  readonly problems: string[];
}

/** Diagnoses, prescriptions, procedures and immunizations of one encounter. */
function treat(p: PatientState, enc: EncounterState, disorders: readonly Disorder[]): EncounterOutcome {
  const { prng } = p.header;
  const cost = enc.kind.cost * (0.8 + 0.4 * prng.float());
  const result: EncounterOutcome = {
    resources: [],
    items: [{ code: enc.kind.type, cost }],
    conditions: [],
    problems: [],
  };
  const out = result.resources;
  for (const disorder of disorders) {
    const condition = makeCondition(p, enc, disorder);
    out.push(condition);
    const reason = refTo(condition);
    result.conditions.push(reason);
    result.problems.push(disorder.code.text);
    if (disorder.drugs.length > 0) {
      const index = prng.pick(disorder.drugs);
      out.push(makeMedicationRequest(p, enc, { index, reason, chronic: disorder.chronic }));
    }
  }
  if (prng.chance(0.3))
    out.push(makeMedicationRequest(p, enc, { index: prng.pick(OTC_DRUGS), chronic: false }));
  if (prng.chance(0.4)) {
    const code = prng.pick(PROCEDURES);
    out.push(makeProcedure(p, enc, code));
    result.items.push({ code, cost: 100 + 900 * prng.float() });
  }
  if (prng.chance(0.5)) {
    const vaccine = prng.pick(VACCINES);
    out.push(makeImmunization(p, enc, vaccine));
    result.items.push({ code: vaccine, cost: 20 + 60 * prng.float() });
  }
  return result;
}

/** One encounter with everything recorded during it; returns the references Provenance targets. */
function visit(
  p: PatientState,
  day: number,
  step: { first: boolean; last: boolean; disorders: readonly Disorder[]; out: FhirResource[] },
): { enc: EncounterState; targets: Ref[] } {
  const { prng } = p.header;
  const { out } = step;
  const enc = makeEncounter(p, day, out);
  const { vitals, observations } = makeVitals(p, enc, step.first || prng.chance(0.2));
  out.push(...observations, ...makeLabs(p, enc));
  const outcome = treat(p, enc, step.disorders);
  out.push(...outcome.resources);
  out.push(...makeClaimAndEob(p, enc, { items: outcome.items, diagnoses: outcome.conditions }));
  if (step.last || prng.chance(0.15)) out.push(makeDocument(p, enc, { vitals, problems: outcome.problems }));
  return { enc, targets: [enc.ref, ...outcome.conditions] };
}

/**
 * Build the complete record of patient `index`: Patient, Coverage, encounters with their
 * observations, diagnoses, treatments, claims and notes, then allergies, devices and a Provenance.
 */
export function buildPatientRecord(ctx: GenContext, index: number): FhirResource[] {
  const header = drawHeader(ctx, index);
  const { prng } = header;
  const { state: p, resources: out } = makePatient(ctx, header);
  const days = planDays(p);
  const conditionsAt = planConditions(p, days.length);
  const targets: Ref[] = [p.patientRef];
  const encounters: EncounterState[] = [];
  for (let i = 0; i < days.length; i++) {
    const step = { first: i === 0, last: i === days.length - 1, disorders: conditionsAt[i]!, out };
    const result = visit(p, days[i]!, step);
    encounters.push(result.enc);
    targets.push(...result.targets);
  }
  const first = encounters[0];
  const last = encounters[encounters.length - 1];
  if (first === undefined || last === undefined) throw new TypeError('a patient has at least one encounter');
  const allergies = prng.chance(0.5) ? 0 : prng.chance(0.6) ? 1 : 2;
  for (let i = 0; i < allergies; i++) out.push(makeAllergy(p, first));
  if (header.diabetic) out.push(makeDevice(p, DEVICE_GLUCOSE_METER));
  if (prng.chance(0.08)) out.push(makeDevice(p, prng.pick(DEVICES)));
  out.push(makeProvenance(p, targets, last.end));
  return out;
}
