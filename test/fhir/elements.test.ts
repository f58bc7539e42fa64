import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseElements, projectElements } from '../../src/fhir/elements.js';
import type { FhirResource } from '../../src/fhir/resource.js';

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
const INVALID = { code: 'FHIRHOSE_ERR_INVALID_REQUEST', expression: '_elements' };

const patient: FhirResource = {
  resourceType: 'Patient',
  id: 'p1',
  meta: { lastUpdated: '2024-01-01T00:00:00Z', tag: [{ system: 'urn:t', code: 'x' }] },
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
  name: [{ family: 'Doe' }],
  gender: 'female',
  birthDate: '1970-01-01',
  _birthDate: { extension: [{ url: 'http://example.org/accuracy', valueCode: 'estimated' }] },
  deceasedBoolean: false,
};

const observation: FhirResource = {
  resourceType: 'Observation',
  id: 'o1',
  status: 'final',
  code: { text: 'Glucose' },
  subject: { reference: 'Patient/p1' },
  effectiveDateTime: '2015-06-15',
  valueQuantity: { value: 5 },
  note: [{ text: 'fasting' }],
};

describe('parseElements', () => {
  test('splits comma lists and repeated values into generic and typed elements', () => {
    const spec = parseElements(['id,Patient.name', 'Observation.status, Observation.code', 'id']);
    assert.deepEqual(spec, {
      generic: ['id'],
      byType: { Patient: ['name'], Observation: ['status', 'code'] },
    });
  });

  test('accepts a choice element as value, value[x] or one typed name', () => {
    const spec = parseElements([
      'Observation.value',
      'Observation.value[x]',
      'Observation.effectiveDateTime',
    ]);
    assert.deepEqual(spec.byType, { Observation: ['value', 'effectiveDateTime'] });
    assert.deepEqual(parseElements(['deceased']).generic, ['deceased']);
  });

  const rejects: [string, string[], string[] | undefined, string][] = [
    ['a path deeper than Type.element', ['Patient.name.family'], undefined, 'root element'],
    ['a nested path without a type', ['name.family'], undefined, 'root element'],
    ['an unknown type', ['Foo.bar'], undefined, 'Foo'],
    ['an element the type does not define', ['Patient.status'], undefined, "'status'"],
    ['a choice name with a type the element does not allow', ['Observation.valueFoo'], undefined, 'valueFoo'],
    ['a choice suffix on a non-choice element', ['Patient.genderCode'], undefined, 'genderCode'],
    ['a typed element of a type outside _type', ['Observation.status'], ['Patient'], 'Observation'],
    ['a generic element no exported type defines', ['status'], ['Patient'], "'status'"],
    ['a generic element no type defines', ['nonsense'], undefined, "'nonsense'"],
    ['an empty item', ['id,,name'], undefined, 'empty'],
    ['an element name with bad characters', ['Patient.na-me'], undefined, 'na-me'],
  ];
  for (const [what, values, exportTypes, named] of rejects) {
    test(`rejects ${what} as invalid`, () => {
      assert.throws(
        () => parseElements(values, exportTypes),
        (err: Error & { code?: string; expression?: string }) => {
          assert.deepEqual({ code: err.code, expression: err.expression }, INVALID);
          assert.ok(err.message.includes(named), err.message);
          return true;
        },
      );
    });
  }
});

describe('projectElements', () => {
  test('returns undefined for a type the spec does not mention', () => {
    assert.equal(projectElements(observation, parseElements(['Patient.name'])), undefined);
  });

  test('keeps only id, resourceType and a tagged meta for _elements=id on Patient', () => {
    const out = projectElements(patient, parseElements(['id'], ['Patient']));
    assert.deepEqual(out, {
      resourceType: 'Patient',
      id: 'p1',
      meta: { lastUpdated: '2024-01-01T00:00:00Z', tag: [{ system: 'urn:t', code: 'x' }, SUBSETTED] },
    });
  });

  test('keeps the mandatory elements and the listed ones, dropping the rest', () => {
    const out = projectElements(observation, parseElements(['Observation.subject']));
    assert.deepEqual(Object.keys(out ?? {}), ['resourceType', 'id', 'status', 'code', 'subject', 'meta']);
  });

  test('keeps a mandatory choice element in whatever type it has', () => {
    const request = {
      resourceType: 'MedicationRequest',
      id: 'm',
      status: 'active',
      intent: 'order',
      note: [],
    };
    const out = projectElements(
      {
        ...request,
        medicationReference: { reference: 'Medication/1' },
        subject: { reference: 'Patient/p1' },
      },
      parseElements(['MedicationRequest.id']),
    );
    assert.ok(out && 'medicationReference' in out && !('note' in out));
  });

  test('keeps every variant of a listed choice element, or only the one named', () => {
    const all = projectElements(observation, parseElements(['Observation.value']));
    assert.deepEqual(all?.valueQuantity, { value: 5 });
    const one = projectElements(observation, parseElements(['Observation.effectiveDateTime']));
    assert.ok(one && 'effectiveDateTime' in one && !('valueQuantity' in one));
    const other = projectElements(observation, parseElements(['Observation.effectivePeriod']));
    assert.ok(other && !('effectiveDateTime' in other));
  });

  test('keeps the primitive extension of a kept element', () => {
    const out = projectElements(patient, parseElements(['Patient.birthDate']));
    assert.deepEqual(out?._birthDate, patient._birthDate);
    assert.ok(!('gender' in (out ?? {})) && !('text' in (out ?? {})));
  });

  test('applies generic elements to every type and typed ones to their type only', () => {
    const spec = parseElements(['subject', 'Patient.gender']);
    const obsOut = projectElements(observation, spec);
    assert.ok(obsOut && 'subject' in obsOut && !('note' in obsOut));
    const patOut = projectElements(patient, spec);
    assert.ok(patOut && 'gender' in patOut && !('name' in patOut));
    const other = projectElements(
      { resourceType: 'Encounter', id: 'e', status: 'finished', class: {}, subject: {} },
      spec,
    );
    assert.ok(other && 'subject' in other && 'class' in other);
  });

  test('adds the SUBSETTED tag once, creating meta when missing', () => {
    const spec = parseElements(['Observation.status']);
    const once = projectElements(observation, spec);
    assert.deepEqual(once?.meta, { tag: [SUBSETTED] });
    const twice = projectElements(once as FhirResource, spec);
    assert.deepEqual(twice?.meta, { tag: [SUBSETTED] });
  });

  test('does not modify the input resource', () => {
    const before = structuredClone(patient);
    projectElements(patient, parseElements(['Patient.name']));
    assert.deepEqual(patient, before);
  });
});
