import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import {
  compileTypeFilters,
  measureTypeFilters,
  typeFilterSearchParams,
} from '../../src/fhir/type-filter.js';
import { compileExtractor } from '../../src/fhir/search-extract.js';
import { listSearchParams } from '../../src/fhir/search-param-table.js';
import { RESOURCE_TYPES } from '../../src/fhir/resource-types.js';
import type { FhirResource } from '../../src/fhir/resource.js';

const NOW = Date.UTC(2025, 0, 1);
const INVALID = { code: 'FHIRHOSE_ERR_INVALID_REQUEST', expression: '_typeFilter' };
const NOT_SUPPORTED = { code: 'FHIRHOSE_ERR_NOT_SUPPORTED', expression: '_typeFilter' };
const LOINC = 'http://loinc.org';
const SYNTHEA = '/work/shared/data/synthea-100';

/** True when `resource` passes the filter compiled from `queries`. */
function matches(queries: string | string[], resource: FhirResource): boolean {
  const filters = compileTypeFilters(Array.isArray(queries) ? queries : [queries], { now: NOW });
  const predicate = filters.get(resource.resourceType);
  assert.ok(predicate, `no filter for ${resource.resourceType}`);
  return predicate(resource);
}

function obs(fields: Record<string, unknown> = {}): FhirResource {
  return { resourceType: 'Observation', id: 'o1', status: 'final', ...fields };
}

const glucose = obs({
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: {
    coding: [{ system: LOINC, code: '2339-0', display: 'Glucose [Mass/volume] in Blood' }],
    text: 'Glucose',
  },
  subject: { reference: 'Patient/p1' },
  effectiveDateTime: '2015-06-15T10:30:00Z',
  valueQuantity: { value: 105.2, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
  meta: {
    tag: [{ system: 'urn:tags', code: 'batch-7' }],
    profile: ['http://example.org/fhir/StructureDefinition/obs|2.0'],
  },
});

const patient: FhirResource = {
  resourceType: 'Patient',
  id: 'p1',
  active: true,
  identifier: [{ system: 'urn:mrn', value: 'MRN-42', type: { text: 'Medical record number' } }],
  name: [{ family: 'Núñez', given: ['José', 'María'], prefix: ['Dr.'] }],
  telecom: [{ system: 'email', value: 'jose@example.org' }],
  address: [{ line: ['12 Elm Street'], city: 'Springfield', postalCode: '01101' }],
  birthDate: '1970-03',
  generalPractitioner: [{ reference: 'http://other.example/fhir/Practitioner/9/_history/2' }],
};

describe('compileTypeFilters', () => {
  test('returns one predicate per filtered type and none for other types', () => {
    const filters = compileTypeFilters(['Observation?status=final', 'Patient?active=true']);
    assert.deepEqual([...filters.keys()].sort(), ['Observation', 'Patient']);
  });

  test('ORs several queries for the same type', () => {
    const queries = ['Observation?status=amended', 'Observation?code=2339-0'];
    assert.equal(matches(queries, glucose), true);
    assert.equal(matches(['Observation?status=amended', 'Observation?code=999'], glucose), false);
  });

  test('ANDs the parameters of one query, including a repeated one', () => {
    assert.equal(matches('Observation?status=final&code=2339-0', glucose), true);
    assert.equal(matches('Observation?status=final&code=999', glucose), false);
    assert.equal(matches('Observation?date=ge2015&date=lt2016', glucose), true);
    assert.equal(matches('Observation?date=ge2015&date=lt2015-06', glucose), false);
  });

  test('ORs the comma-separated values of one parameter', () => {
    assert.equal(matches('Observation?status=amended,final', glucose), true);
    assert.equal(matches('Observation?status=amended,preliminary', glucose), false);
  });

  test('splits a comma-joined list of queries only before Type?', () => {
    const filters = compileTypeFilters(['Observation?status=amended,final,Patient?active=false']);
    assert.equal(filters.get('Observation')?.(glucose), true);
    assert.equal(filters.get('Patient')?.(patient), false);
  });

  test('decodes percent-encoded values and a percent-encoded query list', () => {
    assert.equal(matches('Observation?code=http%3A%2F%2Floinc.org%7C2339-0', glucose), true);
    const filters = compileTypeFilters(['Observation%3Fcode%3D2339-0,Patient%3Factive%3Dtrue']);
    assert.equal(filters.get('Observation')?.(glucose), true);
    assert.equal(filters.get('Patient')?.(patient), true);
  });

  test('keeps an escaped comma inside one value', () => {
    const named = { ...patient, name: [{ family: 'Smith, Jr' }] };
    assert.equal(matches('Patient?family:exact=Smith\\, Jr', named), true);
  });
});

describe('token search', () => {
  test('matches a code in any system, system|code, |code and system|', () => {
    assert.equal(matches('Observation?code=2339-0', glucose), true);
    assert.equal(matches(`Observation?code=${LOINC}|2339-0`, glucose), true);
    assert.equal(matches('Observation?code=http://snomed.info/sct|2339-0', glucose), false);
    assert.equal(matches('Observation?code=|2339-0', glucose), false);
    assert.equal(matches('Observation?code=|x', obs({ code: { coding: [{ code: 'x' }] } })), true);
    assert.equal(matches(`Observation?code=${LOINC}|`, glucose), true);
  });

  test('matches an Identifier, a primitive code, a boolean and a ContactPoint', () => {
    assert.equal(matches('Patient?identifier=urn:mrn|MRN-42', patient), true);
    assert.equal(matches('Patient?identifier=urn:other|MRN-42', patient), false);
    assert.equal(matches('Observation?status=final', glucose), true);
    assert.equal(matches('Patient?active=true', patient), true);
    assert.equal(matches('Patient?active=false', patient), false);
    assert.equal(matches('Patient?email=jose@example.org', patient), true);
    assert.equal(matches('Patient?phone=jose@example.org', patient), false);
  });

  test('matches Resource-level _id, _tag and _security', () => {
    assert.equal(matches('Observation?_id=o1', glucose), true);
    assert.equal(matches('Observation?_tag=urn:tags|batch-7', glucose), true);
    assert.equal(matches('Observation?_security=R', glucose), false);
  });

  test(':not matches resources without the code, including those with no value', () => {
    assert.equal(matches('Observation?code:not=2339-0', glucose), false);
    assert.equal(matches('Observation?code:not=999,888', glucose), true);
    assert.equal(matches('Observation?category:not=laboratory', obs()), true);
  });

  test(':text matches CodeableConcept.text, Coding.display and Identifier.type.text', () => {
    assert.equal(matches('Observation?code:text=GLUC', glucose), true);
    assert.equal(matches('Observation?code:text=glucose [mass', glucose), true);
    assert.equal(matches('Observation?code:text=blood', glucose), false);
    assert.equal(matches('Patient?identifier:text=medical', patient), true);
  });
});

describe('string search', () => {
  test('matches the start of a name part, ignoring case and accents', () => {
    assert.equal(matches('Patient?family=nun', patient), true);
    assert.equal(matches('Patient?given=MARIA', patient), true);
    assert.equal(matches('Patient?name=dr', patient), true);
    assert.equal(matches('Patient?family=unez', patient), false);
  });

  test('matches the joined name and address parts', () => {
    assert.equal(matches('Patient?name=josé maría núñez', patient), true);
    assert.equal(matches('Patient?address=12 elm street springfield', patient), true);
    assert.equal(matches('Patient?address-city=spring', patient), true);
  });

  test(':exact compares case and accents, :contains matches inside', () => {
    assert.equal(matches('Patient?family:exact=Núñez', patient), true);
    assert.equal(matches('Patient?family:exact=nunez', patient), false);
    assert.equal(matches('Patient?family:contains=UNE', patient), true);
    assert.equal(matches('Patient?address:contains=elm', patient), true);
  });
});

describe('date search', () => {
  const on = (date: string): FhirResource => obs({ effectiveDateTime: date });
  const cases: [string, string, boolean][] = [
    ['2015-06-15', '2015-06-15T10:30:00Z', true],
    ['2015', '2015-06-15T10:30:00Z', true],
    ['2015-06-15', '2015-06', false],
    ['ne2015-06-15', '2015-06-16', true],
    ['ne2015', '2015-06', false],
    ['gt2015-06-14', '2015-06-15', true],
    ['gt2015-06-15', '2015-06-15T23:00:00Z', false],
    ['lt2015-06-15', '2015-06-14T23:59:59Z', true],
    ['lt2015-06-15', '2015-06-15', false],
    ['ge2015-06-15', '2015-06-15T00:00:00Z', true],
    ['ge2015-06-15', '2015-06-14', false],
    ['le2015-06-15', '2015-06-15T23:59:59Z', true],
    ['le2015-06-15', '2015-06-16', false],
    ['sa2015-06-15', '2015-06-16', true],
    ['sa2015-06-15', '2015-06', false],
    ['eb2015-06-15', '2015-06-14', true],
    ['eb2015-06-15', '2015', false],
    ['ap2015-06-15', '2015-05-01', true],
    ['ap2015-06-15', '2013-01-01', false],
    ['ge2015-06-15T10:00:00+02:00', '2015-06-15T08:00:00Z', true],
    ['ge2015-06-15T10:00:00 02:00', '2015-06-15T08:00:00Z', true],
    ['lt2015-06-15T10:00:00 02:00', '2015-06-15T08:00:00Z', false],
  ];
  for (const [search, stored, expected] of cases) {
    test(`date=${search} ${expected ? 'matches' : 'does not match'} ${stored}`, () => {
      assert.equal(matches(`Observation?date=${encodeURIComponent(search)}`, on(stored)), expected);
    });
  }

  test('treats a Period without an end as ongoing', () => {
    const encounter = { resourceType: 'Encounter', period: { start: '2014-12-30T09:00:00Z' } };
    assert.equal(matches('Encounter?date=gt2020-01-01', encounter), true);
    assert.equal(matches('Encounter?date=lt2014-12-30', encounter), false);
    assert.equal(matches('Encounter?date=eq2014', encounter), false);
  });

  test('uses the outer limits of a Timing', () => {
    const timed = obs({ effectiveTiming: { event: ['2015-01-10', '2015-03-05'] } });
    assert.equal(matches('Observation?date=eq2015', timed), true);
    assert.equal(matches('Observation?date=eq2015-01', timed), false);
    assert.equal(matches('Observation?date=sa2014-12-31', timed), true);
  });

  test('compares _lastUpdated instants at the precision of the search value', () => {
    const updated = obs({ meta: { lastUpdated: '2024-05-01T12:00:00.500Z' } });
    assert.equal(matches('Observation?_lastUpdated=gt2024-05-01T11:59:59Z', updated), true);
    assert.equal(matches('Observation?_lastUpdated=eq2024-05-01T12:00:00Z', updated), true);
    assert.equal(matches('Observation?_lastUpdated=gt2024-05-01T12:00:00Z', updated), false);
    assert.equal(matches('Observation?_lastUpdated=lt2024-05-01T12:00:00.501Z', updated), true);
  });
});

describe('reference search', () => {
  test('matches Type/id, a bare id and a type modifier', () => {
    assert.equal(matches('Observation?subject=Patient/p1', glucose), true);
    assert.equal(matches('Observation?subject=Group/p1', glucose), false);
    assert.equal(matches('Observation?subject=p1', glucose), true);
    assert.equal(matches('Observation?subject:Patient=p1', glucose), true);
    assert.equal(matches('Observation?subject:Group=p1', glucose), false);
  });

  test('limits patient to Patient references without resolving them', () => {
    assert.equal(matches('Observation?patient=p1', glucose), true);
    assert.equal(matches('Observation?patient=g1', obs({ subject: { reference: 'Group/g1' } })), false);
  });

  test('matches an absolute URL or urn as text, ignoring _history', () => {
    const url = 'http://other.example/fhir/Practitioner/9';
    assert.equal(matches(`Patient?general-practitioner=${url}`, patient), true);
    assert.equal(matches('Patient?general-practitioner=Practitioner/9', patient), false);
    const urn = obs({ subject: { reference: 'urn:uuid:0d4b9f1c-0000-4000-8000-000000000001' } });
    assert.equal(matches('Observation?subject=urn:uuid:0d4b9f1c-0000-4000-8000-000000000001', urn), true);
  });

  test(':identifier matches Reference.identifier as a token', () => {
    const byId = obs({ subject: { identifier: { system: 'urn:mrn', value: 'MRN-42' } } });
    assert.equal(matches('Observation?subject:identifier=urn:mrn|MRN-42', byId), true);
    assert.equal(matches('Observation?subject:identifier=MRN-1', byId), false);
  });
});

describe('quantity and number search', () => {
  test('compares with each prefix and the implicit precision of eq', () => {
    assert.equal(matches('Observation?value-quantity=gt100', glucose), true);
    assert.equal(matches('Observation?value-quantity=lt100', glucose), false);
    assert.equal(matches('Observation?value-quantity=105', glucose), true);
    assert.equal(matches('Observation?value-quantity=105.0', glucose), false);
    assert.equal(matches('Observation?value-quantity=ne105.2', glucose), false);
    assert.equal(matches('Observation?value-quantity=ap100', glucose), true);
    assert.equal(matches('Observation?value-quantity=ap90', glucose), false);
    assert.equal(matches('Observation?value-quantity=ge105.2&value-quantity=le105.2', glucose), true);
    assert.equal(matches('Observation?value-quantity=sa105.2', glucose), false);
    assert.equal(matches('Observation?value-quantity=eb106', glucose), true);
  });

  test('checks the unit as system|code or as code or unit', () => {
    assert.equal(matches('Observation?value-quantity=gt100|http://unitsofmeasure.org|mg/dL', glucose), true);
    assert.equal(matches('Observation?value-quantity=gt100|http://snomed.info/sct|mg/dL', glucose), false);
    assert.equal(matches('Observation?value-quantity=gt100||mg/dL', glucose), true);
    assert.equal(matches('Observation?value-quantity=gt100||mmol/L', glucose), false);
  });

  test('matches numbers and Range values', () => {
    const risk = { resourceType: 'RiskAssessment', prediction: [{ probabilityDecimal: 0.82 }] };
    assert.equal(matches('RiskAssessment?probability=gt0.8', risk), true);
    assert.equal(matches('RiskAssessment?probability=0.8', risk), true);
    assert.equal(matches('RiskAssessment?probability=0.80', risk), false);
    const ranged = {
      resourceType: 'RiskAssessment',
      prediction: [{ probabilityRange: { low: { value: 0.2 } } }],
    };
    assert.equal(matches('RiskAssessment?probability=gt0.9', ranged), true);
    assert.equal(matches('RiskAssessment?probability=lt0.1', ranged), false);
  });
});

describe('uri search', () => {
  test('matches exactly, ignoring a canonical version unless one is given', () => {
    const profile = 'http://example.org/fhir/StructureDefinition/obs';
    assert.equal(matches(`Observation?_profile=${profile}`, glucose), true);
    assert.equal(matches(`Observation?_profile=${profile}|2.0`, glucose), true);
    assert.equal(matches(`Observation?_profile=${profile}|1.0`, glucose), false);
    assert.equal(matches('Observation?_profile=http://example.org/fhir', glucose), false);
  });

  test(':below and :above follow the path hierarchy', () => {
    assert.equal(matches('Observation?_profile:below=http://example.org/fhir', glucose), true);
    assert.equal(matches('Observation?_profile:below=http://example.org/fh', glucose), false);
    const vs = { resourceType: 'ValueSet', url: 'http://example.org/fhir/ValueSet' };
    assert.equal(matches('ValueSet?url:above=http://example.org/fhir/ValueSet/123', vs), true);
  });
});

describe(':missing', () => {
  test('tests whether the parameter has any value', () => {
    assert.equal(matches('Observation?value-quantity:missing=false', glucose), true);
    assert.equal(matches('Observation?value-quantity:missing=true', glucose), false);
    assert.equal(matches('Observation?value-quantity:missing=true', obs()), true);
    assert.equal(matches('Observation?subject:missing=true&date:missing=true', obs()), true);
  });
});

describe('type filter rejections', () => {
  const invalid: [string, string][] = [
    ['Observation', 'Observation'],
    ['Foo?code=x', 'Foo'],
    ['?code=x', 'resource type'],
    ['Patient/1/Observation?code=x', 'compartment'],
    ['Observation?', 'no search parameters'],
    ['Observation?code', "'code'"],
    ['Observation?code=', "'code'"],
    ['Observation?code=a,,b', "'code'"],
    ['Observation?code=%zz', "'code'"],
    ['Observation?code=a|b|c', "'code'"],
    ['Observation?date=2015-13', "'date'"],
    ['Observation?date=yesterday', "'date'"],
    ['Observation?value-quantity=gtabc', "'value-quantity'"],
    ['Observation?value-quantity=5|mg', "'value-quantity'"],
    ['Observation?subject=not a ref', "'subject'"],
    ['Observation?subject:Foo=1', "'subject'"],
    ['Observation?subject:Group=Patient/1', "'subject'"],
    ['Observation?status:missing=maybe', "'status:missing'"],
  ];
  for (const param of ['_sort', '_include', '_revinclude', '_count', '_elements', '_summary', '_total']) {
    invalid.push([`Observation?${param}=x`, `'${param}'`]);
  }
  invalid.push(
    ['Observation?_contained=true', "'_contained'"],
    ['Observation?_containedType=x', "'_containedType'"],
  );
  invalid.push(['Observation?_include:iterate=Observation:subject', "'_include'"]);
  for (const [query, named] of invalid) {
    test(`rejects ${query} as invalid`, () => {
      assert.throws(
        () => compileTypeFilters([query]),
        (err: Error & { code?: string; expression?: string }) => {
          assert.deepEqual({ code: err.code, expression: err.expression }, INVALID);
          assert.ok(err.message.includes(named), err.message);
          return true;
        },
      );
    });
  }

  const unsupported: [string, string][] = [
    ['Observation?foo=x', "'foo'"],
    ['Observation?subject.name=x', "'subject.name'"],
    ['Observation?subject:Patient.name=x', "'subject:Patient.name'"],
    ['Patient?_has:Observation:patient:code=x', "'_has:Observation:patient:code'"],
    ['Observation?code-value-quantity=x$gt5', "'code-value-quantity'"],
    ['Location?near=1|2|3|km', "'near'"],
    ['Observation?_text=x', "'_text'"],
    ['Observation?_content=x', "'_content'"],
    ['Observation?_list=x', "'_list'"],
    ['Observation?code:in=http://vs', "'code'"],
    ['Observation?code:below=x', "'code'"],
    ['Observation?date:exact=2015', "'date'"],
    ['Observation?status:not-in=x', "'status'"],
  ];
  for (const [query, named] of unsupported) {
    test(`rejects ${query} as not supported`, () => {
      assert.throws(
        () => compileTypeFilters([query]),
        (err: Error & { code?: string; expression?: string }) => {
          assert.deepEqual({ code: err.code, expression: err.expression }, NOT_SUPPORTED);
          assert.ok(err.message.includes(named), err.message);
          return true;
        },
      );
    });
  }
});

describe('measureTypeFilters', () => {
  test('counts queries, characters and the widest OR list as compileTypeFilters would read them', () => {
    const values = [
      'Observation?code=a,b%2Cc&status=final,amended',
      'Patient?gender=male,Condition?code=x\\,y',
    ];
    assert.deepEqual(measureTypeFilters(values), {
      queries: 3,
      chars: values[0]!.length + values[1]!.length,
      widest: { name: 'code', values: 3 },
    });
  });

  test('measures malformed queries without throwing', () => {
    assert.deepEqual(measureTypeFilters(['Observation', 'Observation?=a,b', 'Observation?code=%E0%A4%A,b']), {
      queries: 3,
      chars: 11 + 16 + 27,
      widest: { name: 'code', values: 2 },
    });
  });

  test('reports no widest parameter when there is no name=value term', () => {
    assert.equal(measureTypeFilters(['Observation?']).widest, undefined);
  });
});

describe('typeFilterSearchParams', () => {
  test('lists Resource-level and type parameters with their definitions', () => {
    const params = typeFilterSearchParams('Observation');
    const byName = new Map(params.map((p) => [p.name, p]));
    assert.deepEqual(byName.get('_lastUpdated'), {
      name: '_lastUpdated',
      type: 'date',
      definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated',
    });
    assert.deepEqual(byName.get('code'), {
      name: 'code',
      type: 'token',
      definition: 'http://hl7.org/fhir/SearchParameter/clinical-code',
    });
  });

  test('omits composite, special and expression-less parameters, and unknown types', () => {
    const names = typeFilterSearchParams('Observation').map((p) => p.name);
    assert.ok(
      !names.includes('code-value-quantity') && !names.includes('_text') && !names.includes('_query'),
    );
    assert.ok(!typeFilterSearchParams('Location').some((p) => p.name === 'near'));
    assert.deepEqual(typeFilterSearchParams('Foo'), []);
  });

  test('every listed parameter of every type compiles', () => {
    for (const type of ['Observation', 'Patient', 'Encounter', 'Condition', 'MedicationRequest', 'Claim']) {
      for (const { name, type: paramType } of typeFilterSearchParams(type)) {
        const value =
          paramType === 'date' ? '2015' : paramType === 'number' || paramType === 'quantity' ? '1' : 'x';
        assert.doesNotThrow(() => compileTypeFilters([`${type}?${name}=${value}`]), `${type}.${name}`);
      }
    }
  });
});

function readNdjson(type: string): FhirResource[] {
  const text = gunzipSync(readFileSync(`${SYNTHEA}/${type}.ndjson.gz`)).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as FhirResource);
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const hasCode = (cc: Json | undefined, code: string): boolean =>
  (cc?.coding ?? []).some((c: Json) => c.code === code);

/** Independent hand-written predicates over the raw JSON, one per filter. */
const SANITY: [string, string, (r: Json) => boolean][] = [
  [
    'Observation',
    'Observation?category=laboratory',
    (r) => (r.category ?? []).some((cc: Json) => hasCode(cc, 'laboratory')),
  ],
  ['Condition', 'Condition?clinical-status=active', (r) => hasCode(r.clinicalStatus, 'active')],
  [
    'MedicationRequest',
    'MedicationRequest?status=active,stopped',
    (r) => ['active', 'stopped'].includes(r.status),
  ],
  ['MedicationRequest', 'MedicationRequest?status=active', (r) => r.status === 'active'],
  [
    'Encounter',
    'Encounter?date=ge2015-01-01',
    (r) => {
      // Period vs a day: overlaps the time after that day, or lies within the day (R4 `ge`).
      const start = Date.parse(r.period.start);
      const end = r.period.end === undefined ? Infinity : Date.parse(r.period.end) + 1000;
      const [day, next] = [Date.UTC(2015, 0, 1), Date.UTC(2015, 0, 2)];
      return end > next || (start >= day && end <= next);
    },
  ],
  [
    'Observation',
    'Observation?value-quantity=gt100',
    (r) => typeof r.valueQuantity?.value === 'number' && r.valueQuantity.value > 100,
  ],
];

/** Asserts that the direct JSON walk and fhirpath.js select the same values for every parameter. */
function assertSameValues(resources: FhirResource[]): void {
  const sorted = (values: unknown[]): string[] => values.map((v) => JSON.stringify(v)).sort();
  for (const type of new Set(resources.map((r) => r.resourceType))) {
    for (const def of listSearchParams(type)) {
      if (def.expression === '' || def.type === 'composite' || def.type === 'special') continue;
      const fast = compileExtractor(def.expression);
      const engine = compileExtractor(def.expression, { fastPath: false });
      for (const r of resources.filter((x) => x.resourceType === type)) {
        assert.deepEqual(sorted(fast(r)), sorted(engine(r)), `${type}.${def.name} on ${r.id}`);
      }
    }
  }
}

describe('compileExtractor', () => {
  test('the fast path selects the same values as fhirpath.js', () => {
    const extended = { ...patient, name: [{ given: ['A', null], _given: [null, { extension: [] }] }] };
    assertSameValues([glucose, patient, extended, obs({ component: [{ valueQuantity: { value: 1 } }, {}] })]);
  });

  test('compiles every R4 parameter of every type without needing resolve()', () => {
    for (const type of RESOURCE_TYPES) {
      for (const def of listSearchParams(type)) {
        if (def.expression === '' || def.type === 'composite' || def.type === 'special') continue;
        const branches = def.expression
          .split(' | ')
          .map((b) => b.replace(/\.where\(resolve\(\) is \w+\)$/, ''));
        assert.ok(!branches.some((b) => b.includes('resolve(')), `${type}.${def.name}`);
        // Only Patient.deceased (`exists() and ...`) yields a value, false, on an empty resource.
        const values = compileExtractor(def.expression)({ resourceType: type });
        assert.ok(
          values.every((v) => v.data === false),
          `${type}.${def.name}`,
        );
      }
    }
  });

  test('keeps only references to the type named by resolve() is', () => {
    const extract = compileExtractor('Observation.subject.where(resolve() is Patient)');
    assert.equal(extract(glucose).length, 1);
    assert.equal(extract(obs({ subject: { reference: 'Group/g' } })).length, 0);
    assert.equal(extract(obs({ subject: { reference: 'http://x/fhir/Patient/1' } })).length, 1);
    assert.equal(extract(obs({ subject: { type: 'Patient', identifier: { value: '1' } } })).length, 1);
  });
});

describe('type filters on Synthea data', () => {
  const skip = existsSync(SYNTHEA) ? false : `${SYNTHEA} is missing`;
  test('the fast path selects the same values as fhirpath.js on every parameter', { skip }, () => {
    for (const type of [
      'Patient',
      'Encounter',
      'Condition',
      'Observation',
      'MedicationRequest',
      'Procedure',
    ]) {
      assertSameValues(readNdjson(type).slice(0, 150));
    }
  });

  for (const [type, query, expected] of SANITY) {
    test(`${query} selects what a hand-written predicate selects`, { skip }, () => {
      const resources = readNdjson(type);
      const predicate = compileTypeFilters([query]).get(type);
      assert.ok(predicate);
      const got = resources.filter((r) => predicate(r)).map((r) => r.id);
      const want = resources.filter((r) => expected(r as Json)).map((r) => r.id);
      assert.ok(want.length > 0, `${query} selects nothing`);
      assert.deepEqual(got, want);
    });
  }
});
