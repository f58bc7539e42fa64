import type { FhirResource } from '../fhir/index.js';
import { concept, hl7, ref, ID_BASE } from './codes.js';
import type { Concept, Ref } from './codes.js';
import { formatDate, REF_DAY } from './dates.js';
import type { GenContext, PatientHeader } from './header.js';
import { CITIES, FAMILY, FEMALE_GIVEN, LANGUAGES, MALE_GIVEN } from './people-names.js';
import { makeAddress } from './shared.js';
import type { SharedRefs } from './shared.js';

/** A patient and the references its other resources repeat. */
export interface PatientState {
  readonly header: PatientHeader;
  readonly shared: SharedRefs;
  readonly patientRef: Ref;
  readonly gpRef: Ref;
  readonly providerRef: Ref;
  readonly locationRef: Ref;
  readonly payerRef: Ref;
  readonly coverageRef: Ref;
  readonly displayName: string;
  readonly heightCm: number;
  readonly bmi: number;
}

const MR_TYPE = hl7('v2-0203', 'MR', 'Medical record number');
const SS_TYPE = hl7('v2-0203', 'SS', 'Social Security number');
const MARITAL = [
  hl7('v3-MaritalStatus', 'M', 'Married'),
  hl7('v3-MaritalStatus', 'S', 'Never Married'),
  hl7('v3-MaritalStatus', 'D', 'Divorced'),
  hl7('v3-MaritalStatus', 'W', 'Widowed'),
];
const COVERAGE_TYPE = hl7('v3-ActCode', 'HIP', 'health insurance plan policy');
const RELATIONSHIP_SELF = hl7('subscriber-relationship', 'self', 'Self');
const MRN_SYSTEM = ID_BASE + 'mrn';
const BIRTH_SEX = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex';

/** Preferred languages as frozen CodeableConcepts, with their weights. */
const LANGUAGE_CONCEPTS = LANGUAGES.map((l) => ({
  concept: concept('urn:ietf:bcp:47', l.code, l.display),
  weight: l.weight,
}));

function language(u: number): Concept {
  let acc = 0;
  for (const lang of LANGUAGE_CONCEPTS) {
    acc += lang.weight;
    if (u < acc) return lang.concept;
  }
  return LANGUAGE_CONCEPTS[0]!.concept;
}

interface PersonName {
  readonly given: string;
  readonly middle: string;
  readonly family: string;
}

function patientResource(header: PatientHeader, name: PersonName, shared: SharedRefs): FhirResource {
  const { prng, female } = header;
  const { given, family } = name;
  const lang = language(prng.float());
  const phone = '555-' + prng.int(200, 999) + '-' + String(prng.int(0, 9999)).padStart(4, '0');
  const ssn = '999-' + String(prng.int(10, 99)) + '-' + String(prng.int(0, 9999)).padStart(4, '0');
  const email = given.toLowerCase() + '.' + family.toLowerCase() + prng.int(1, 999) + '@example.com';
  return {
    resourceType: 'Patient',
    id: header.id,
    extension: [{ url: BIRTH_SEX, valueCode: female ? 'F' : 'M' }],
    identifier: [
      {
        use: 'usual',
        type: MR_TYPE,
        system: MRN_SYSTEM,
        value: 'MRN' + String(header.index + 1).padStart(9, '0'),
      },
      { use: 'official', type: SS_TYPE, system: 'http://hl7.org/fhir/sid/us-ssn', value: ssn },
    ],
    active: true,
    name: [{ use: 'official', family, given: [given, name.middle] }],
    telecom: [
      { system: 'phone', value: phone, use: 'home' },
      { system: 'email', value: email },
    ],
    gender: female ? 'female' : 'male',
    birthDate: formatDate(header.birthDay),
    address: [makeAddress(prng, 'home', prng.int(0, CITIES.length - 1))],
    maritalStatus: prng.pick(MARITAL),
    communication: [{ language: lang, preferred: true }],
    generalPractitioner: [shared.practitioners[header.gp]!],
    managingOrganization: shared.providers[header.gp % shared.providers.length]!,
  };
}

function coverageResource(header: PatientHeader, beneficiary: Ref, payer: Ref): FhirResource {
  const { prng, ids } = header;
  return {
    resourceType: 'Coverage',
    id: ids.next(),
    status: 'active',
    type: COVERAGE_TYPE,
    subscriberId: 'S' + prng.int(100000000, 999999999),
    beneficiary,
    relationship: RELATIONSHIP_SELF,
    period: { start: formatDate(REF_DAY - prng.int(3700, 7000)) },
    payor: [payer],
  };
}

/** Build the Patient and its Coverage, and the state that the rest of its record shares. */
export function makePatient(
  ctx: GenContext,
  header: PatientHeader,
): { state: PatientState; resources: FhirResource[] } {
  const { prng, female } = header;
  const { shared } = ctx;
  const given = prng.pick(female ? FEMALE_GIVEN : MALE_GIVEN);
  const name = { given, middle: prng.pick(female ? FEMALE_GIVEN : MALE_GIVEN), family: prng.pick(FAMILY) };
  const patient = patientResource(header, name, shared);
  const patientRef = ref('Patient', header.id, given + ' ' + name.family);
  const payerRef = shared.payers[header.payer]!;
  const coverage = coverageResource(header, patientRef, payerRef);
  const providerIndex = header.gp % shared.providers.length;
  const state: PatientState = {
    header,
    shared,
    patientRef,
    gpRef: shared.practitioners[header.gp]!,
    providerRef: shared.providers[providerIndex]!,
    locationRef: shared.locations[providerIndex]!,
    payerRef,
    coverageRef: ref('Coverage', coverage.id!),
    displayName: given + ' ' + name.family,
    heightCm: female ? prng.normal(162, 6.5) : prng.normal(176, 7),
    bmi: prng.normal(header.diabetic ? 31 : 27, 4.5),
  };
  return { state, resources: [patient, coverage] };
}
