import type { FhirResource } from '../fhir/index.js';
import { DRUGS } from './clinical-codes.js';
import { concept, hl7, ref, ID_BASE, SNOMED } from './codes.js';
import type { Ref } from './codes.js';
import { IdSource } from './ids.js';
import { CITIES, FAMILY, FEMALE_GIVEN, MALE_GIVEN, STREETS } from './people-names.js';
import { Prng } from './prng.js';

/** References to the shared resources that patient records point at. */
export interface SharedRefs {
  readonly payers: readonly Ref[];
  /** Provider organizations; `locations[i]` belongs to `providers[i]`. */
  readonly providers: readonly Ref[];
  readonly locations: readonly Ref[];
  /** Practitioner `i` works for `providers[i % providers.length]`. */
  readonly practitioners: readonly Ref[];
  /** One Medication per entry of DRUGS, in the same order. */
  readonly medications: readonly Ref[];
}

const PAYER_NAMES = [
  'Northwind Health Plan',
  'Blue Harbor Health',
  'Granite Mutual Insurance',
  'Evergreen Care Assurance',
];
const PROVIDER_COUNT = 8;
const PRACTITIONER_COUNT = 40;
const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
const ORG_TYPE_PROVIDER = hl7('organization-type', 'prov', 'Healthcare Provider');
const ORG_TYPE_PAYER = hl7('organization-type', 'pay', 'Payer');
const HOSPITAL_TYPE = concept(SNOMED, '22232009', 'Hospital (environment)');

/** Number of shared resources (Organizations, Locations, Practitioners, Medications). */
export const SHARED_COUNT = PAYER_NAMES.length + 2 * PROVIDER_COUNT + PRACTITIONER_COUNT + DRUGS.length;

/** Stream number reserved for the shared resources' PRNG. */
const SHARED_STREAM = 0;

/** A random US-style address; `line` numbers and ZIP suffixes come from the PRNG. */
export function makeAddress(prng: Prng, use: 'home' | 'work', cityIndex?: number): Record<string, unknown> {
  const city = cityIndex === undefined ? prng.pick(CITIES) : CITIES[cityIndex % CITIES.length]!;
  return {
    use,
    line: [prng.int(1, 9999) + ' ' + prng.pick(STREETS)],
    city: city.city,
    state: city.state,
    postalCode: city.zip3 + String(prng.int(0, 99)).padStart(2, '0'),
    country: 'US',
  };
}

function phone(prng: Prng): string {
  return '555-' + String(prng.int(200, 999)) + '-' + String(prng.int(0, 9999)).padStart(4, '0');
}

function organization(prng: Prng, id: string, name: string, payer: boolean, cityIndex: number): FhirResource {
  return {
    resourceType: 'Organization',
    id,
    identifier: [
      { system: payer ? ID_BASE + 'payer' : NPI_SYSTEM, value: '99' + prng.int(10000000, 99999999) },
    ],
    active: true,
    type: [payer ? ORG_TYPE_PAYER : ORG_TYPE_PROVIDER],
    name,
    telecom: [{ system: 'phone', value: phone(prng), use: 'work' }],
    address: [makeAddress(prng, 'work', cityIndex)],
  };
}

function practitioner(prng: Prng, id: string, index: number): FhirResource {
  const female = prng.chance(0.5);
  const given = prng.pick(female ? FEMALE_GIVEN : MALE_GIVEN);
  const family = prng.pick(FAMILY);
  return {
    resourceType: 'Practitioner',
    id,
    identifier: [{ system: NPI_SYSTEM, value: '9999' + String(index).padStart(6, '0') }],
    active: true,
    name: [{ use: 'official', family, given: [given], prefix: ['Dr.'] }],
    telecom: [
      {
        system: 'email',
        value: given.toLowerCase() + '.' + family.toLowerCase() + '@example.org',
        use: 'work',
      },
    ],
    gender: female ? 'female' : 'male',
  };
}

/** Build the shared resources and the references that patient records use. */
export function buildShared(
  seed: number,
  keys: readonly number[],
): { resources: FhirResource[]; refs: SharedRefs } {
  const prng = new Prng(seed, SHARED_STREAM);
  const ids = new IdSource(prng, 0, keys);
  const resources: FhirResource[] = [];
  const payers: Ref[] = [];
  const providers: Ref[] = [];
  const locations: Ref[] = [];
  const practitioners: Ref[] = [];
  const medications: Ref[] = [];
  PAYER_NAMES.forEach((name, i) => {
    const id = ids.next();
    resources.push(organization(prng, id, name, true, i));
    payers.push(ref('Organization', id, name));
  });
  for (let i = 0; i < PROVIDER_COUNT; i++) {
    const city = CITIES[i % CITIES.length]!.city;
    const name = i % 2 === 0 ? city + ' Community Hospital' : city + ' Family Health Center';
    const id = ids.next();
    resources.push(organization(prng, id, name, false, i));
    const org = ref('Organization', id, name);
    providers.push(org);
    const locationId = ids.next();
    resources.push({
      resourceType: 'Location',
      id: locationId,
      status: 'active',
      name: name + ' Main Campus',
      type: [HOSPITAL_TYPE],
      address: makeAddress(prng, 'work', i),
      managingOrganization: org,
    });
    locations.push(ref('Location', locationId, name + ' Main Campus'));
  }
  for (let i = 0; i < PRACTITIONER_COUNT; i++) {
    const id = ids.next();
    resources.push(practitioner(prng, id, i));
    practitioners.push(ref('Practitioner', id));
  }
  for (const drug of DRUGS) {
    const id = ids.next();
    resources.push({
      resourceType: 'Medication',
      id,
      code: drug.code,
      status: 'active',
      form: { text: drug.form },
    });
    medications.push(ref('Medication', id, drug.code.text));
  }
  return { resources, refs: { payers, providers, locations, practitioners, medications } };
}
