import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { generateResources } from '../../src/generate/index.js';
import { compileFastPath, compileFhirpath, createViewRunner, rootPath } from '../../src/views/index.js';
import { BLOOD_PRESSURE, CONDITION_CODES, PATIENT_DEMOGRAPHICS } from './views-fixtures.js';

const SUITE = new URL('../../../test/views/sql-on-fhir-v2/', import.meta.url);

/** Generated records as the export engine sees them: parsed from JSON text. */
const GENERATED: unknown[] = [...generateResources({ patients: 12, seed: 7 })].map(
  (r) => JSON.parse(JSON.stringify(r)) as unknown,
);

/** Data shapes the generator does not make: extensions on primitives, nulls, empty arrays. */
const EDGE: unknown[] = [
  {
    resourceType: 'Patient',
    id: 'edge1',
    name: [
      { use: 'official', family: 'A', given: [null, 'b'], _given: [{ extension: [{ url: 'u' }] }, null] },
      { use: 'usual', given: [] },
      { family: 'C', _family: { id: 'f' } },
    ],
    _birthDate: { extension: [{ url: 'http://example.org/absent' }] },
    telecom: [{ system: 'phone', value: '1' }, { system: 'phone', value: '2' }, { value: '3' }],
    managingOrganization: { reference: 'https://x.example/fhir/Organization/o1/_history/3' },
    generalPractitioner: [
      { reference: '#contained' },
      { reference: 'urn:uuid:1' },
      { reference: 'Practitioner/p1' },
    ],
  },
  {
    resourceType: 'Patient',
    id: 'edge2',
    name: null,
    active: false,
    extension: [
      { url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex', valueCode: 'M' },
      { url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex', _valueCode: { id: 'x' } },
    ],
  },
  {
    resourceType: 'Observation',
    id: 'edge3',
    code: {
      coding: [
        { system: 'http://loinc.org', code: '85354-9' },
        { system: 'http://loinc.org', code: 'x' },
      ],
    },
    valueQuantity: { value: 1.5, _value: { extension: [{ url: 'u' }] } },
    component: [
      { code: { coding: [{ code: '8480-6' }, { code: '8480-6' }] }, valueQuantity: { value: 1 } },
      { code: { coding: [{ code: '8480-6' }] }, valueString: 'high' },
    ],
  },
  { resourceType: 'Patient' },
];

const PATHS: Record<string, string[]> = {
  Patient: [
    'id',
    'gender',
    'birthDate',
    'birthDate.exists()',
    'active',
    'name.family',
    'name.given',
    'name[0].given',
    'name[1].family',
    'name.family.first()',
    "name.where(use = 'official').family",
    "name.where(use = 'usual').given.first()",
    'name.exists()',
    'name.given.empty()',
    "telecom.where(system = 'phone').value",
    'identifier.type.coding.code',
    'address.line',
    'getResourceKey()',
    'managingOrganization.getReferenceKey()',
    'managingOrganization.getReferenceKey(Organization)',
    'generalPractitioner.getReferenceKey(Practitioner)',
    'generalPractitioner.getReferenceKey(Organization)',
    "'constant'",
    "extension('http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex').value.ofType(code)",
    "name.given.join(' ')",
    'name.given.join()',
    "identifier.where(system = 'https://fhirhose.example/id/mrn' and use = 'usual').value",
    "identifier.exists(type.coding.code = 'MR')",
    "name.where(use = 'official').first()",
    'deceased.ofType(boolean)',
  ],
  Observation: [
    'status',
    'code.coding.code',
    'subject.getReferenceKey(Patient)',
    'component.code.text',
    'issued',
  ],
  Encounter: ['class.code', 'period.start', 'participant.individual.reference', 'location.location.display'],
};

function typeOf(r: unknown): string | undefined {
  return (r as { resourceType?: string }).resourceType;
}

describe('compileFastPath', () => {
  for (const [type, paths] of Object.entries(PATHS)) {
    for (const path of paths) {
      test(`walks ${type} ${path} as fhirpath.js does`, () => {
        const fast = compileFastPath(path, rootPath(type));
        assert.ok(fast, `${path} takes the fast path`);
        const slow = compileFhirpath(path, 'test');
        let compared = 0;
        for (const r of [...GENERATED, ...EDGE].filter((x) => typeOf(x) === type)) {
          const got = fast.get(r, 0);
          // FALLBACK means "ask fhirpath.js", which the runner then does: nothing to compare.
          if (!Array.isArray(got)) continue;
          assert.deepEqual(got, slow(r, 0), `${path} on ${(r as { id?: string }).id}`);
          compared++;
        }
        assert.ok(compared > 0, 'at least one resource was compared');
      });
    }
  }

  test('hands primitive extensions to fhirpath.js', () => {
    const fast = compileFastPath('birthDate.exists()', rootPath('Patient'))!;
    assert.equal(typeof fast.get(EDGE[0], 0), 'symbol');
  });

  test('refuses choice elements, type prefixes, unknown members and other functions', () => {
    for (const path of [
      'value',
      'Patient.name',
      'name.nosuch',
      'name.count()',
      'name.family + name.given',
      "name.where(use != 'official')",
      'extension.value',
      "extension('u').value.ofType(string)",
      "extension('u').value.ofType(Quantity)",
      "name.where(period.start = '2020')",
      'name.where(use = 1)',
    ]) {
      assert.equal(
        compileFastPath(path, rootPath(path === 'value' ? 'Observation' : 'Patient')),
        undefined,
        path,
      );
    }
  });
});

function rowsOf(view: unknown, resources: unknown[], fastPath: boolean): unknown[] {
  const runner = createViewRunner(view, { fastPath });
  return resources.flatMap((r) => runner.rows(r));
}

describe('fast path in views', () => {
  for (const [name, view] of Object.entries({ PATIENT_DEMOGRAPHICS, BLOOD_PRESSURE, CONDITION_CODES })) {
    test(`${name} gives the same rows, in the same order, with and without the fast path`, () => {
      const fast = rowsOf(view, [...GENERATED, ...EDGE], true);
      assert.ok(fast.length > 0, 'the view yields rows on the generated data');
      assert.deepEqual(fast, rowsOf(view, [...GENERATED, ...EDGE], false));
    });
  }

  test('every suite case gives the same rows with and without the fast path', () => {
    let cases = 0;
    for (const f of readdirSync(SUITE).filter((x) => x.endsWith('.json'))) {
      const file = JSON.parse(readFileSync(new URL(f, SUITE), 'utf8')) as {
        resources: unknown[];
        tests: { title: string; view: unknown; expectError?: boolean }[];
      };
      for (const c of file.tests.filter((x) => !x.expectError)) {
        assert.deepEqual(
          rowsOf(c.view, file.resources, true),
          rowsOf(c.view, file.resources, false),
          c.title,
        );
        cases++;
      }
    }
    assert.equal(cases, 123);
  });
});
