import type { FhirResource } from '../fhir/index.js';
import { cents, hl7, ref } from './codes.js';
import type { Concept, Ref } from './codes.js';
import type { EncounterState } from './encounter.js';
import type { PatientState } from './patient.js';

/** One billed line: what was done and what it cost. */
export interface BillItem {
  readonly code: Concept;
  readonly cost: number;
}

/** What an encounter bills: its lines, and the Conditions diagnosed during it. */
export interface Bill {
  readonly items: readonly BillItem[];
  readonly diagnoses: readonly Ref[];
}

interface Money {
  readonly value: number;
  readonly currency: 'USD';
}

interface Lines {
  readonly claim: Record<string, unknown>[];
  readonly eob: Record<string, unknown>[];
  readonly total: number;
  readonly paid: number;
}

const PROFESSIONAL = hl7('claim-type', 'professional', 'Professional');
const INSTITUTIONAL = hl7('claim-type', 'institutional', 'Institutional');
const PRIORITY_NORMAL = hl7('processpriority', 'normal', 'Normal');
const SUBMITTED = hl7('adjudication', 'submitted', 'Submitted Amount');
const BENEFIT = hl7('adjudication', 'benefit', 'Benefit Amount');

function money(value: number): Money {
  return { value, currency: 'USD' };
}

/** Claim lines and the matching adjudicated EOB lines; the payer covers `rate` of each. */
function billLines(enc: EncounterState, items: readonly BillItem[], rate: number): Lines {
  const claim: Record<string, unknown>[] = [];
  const eob: Record<string, unknown>[] = [];
  let total = 0;
  let paid = 0;
  items.forEach((item, i) => {
    const net = cents(item.cost);
    const benefit = cents(net * rate);
    total += net;
    paid += benefit;
    const line = {
      sequence: i + 1,
      careTeamSequence: [1],
      productOrService: item.code,
      encounter: [enc.ref],
      net: money(net),
    };
    claim.push(line);
    const adjudication = [
      { category: SUBMITTED, amount: money(net) },
      { category: BENEFIT, amount: money(benefit) },
    ];
    eob.push({ ...line, adjudication });
  });
  return { claim, eob, total: cents(total), paid: cents(paid) };
}

/** Build a Claim for `enc` and the ExplanationOfBenefit that adjudicates it. */
export function makeClaimAndEob(
  p: PatientState,
  enc: EncounterState,
  bill: Bill,
): [claim: FhirResource, eob: FhirResource] {
  const { prng, ids } = p.header;
  const claimId = ids.next();
  const lines = billLines(enc, bill.items, 0.6 + 0.3 * prng.float());
  const common = {
    status: 'active',
    type: enc.kind.inpatient || enc.kind.classCode.code === 'EMER' ? INSTITUTIONAL : PROFESSIONAL,
    use: 'claim',
    patient: p.patientRef,
    billablePeriod: { start: enc.start, end: enc.end },
    created: enc.end,
    insurer: p.payerRef,
    provider: p.providerRef,
  };
  const careTeam = [{ sequence: 1, provider: enc.practitioner }];
  const claim: FhirResource = { resourceType: 'Claim', id: claimId, ...common, priority: PRIORITY_NORMAL };
  claim.facility = p.locationRef;
  claim.careTeam = careTeam;
  if (bill.diagnoses.length > 0) {
    claim.diagnosis = bill.diagnoses.map((d, i) => ({ sequence: i + 1, diagnosisReference: d }));
  }
  claim.insurance = [{ sequence: 1, focal: true, coverage: p.coverageRef }];
  claim.item = lines.claim;
  claim.total = money(lines.total);
  const eob: FhirResource = {
    resourceType: 'ExplanationOfBenefit',
    id: ids.next(),
    ...common,
    facility: p.locationRef,
    claim: ref('Claim', claimId),
    outcome: 'complete',
    careTeam,
    insurance: [{ focal: true, coverage: p.coverageRef }],
    item: lines.eob,
    total: [
      { category: SUBMITTED, amount: money(lines.total) },
      { category: BENEFIT, amount: money(lines.paid) },
    ],
    payment: { amount: money(lines.paid) },
  };
  return [claim, eob];
}
