import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import TABLE from '../../src/fhir/data/patient-compartment.json' with { type: 'json' };
import {
  PATIENT_COMPARTMENT_TYPES,
  PATIENT_SELF_PARAM,
  compartmentParams,
  parseReference,
  patientCompartmentRefs,
} from '../../src/fhir/index.js';
import type { CompartmentRef, FhirResource } from '../../src/fhir/index.js';
import { countDataSet, dataSets, readDataSet } from '../helpers/fixtures.js';
import type { DataSet } from '../helpers/fixtures.js';

const PARAM_PATHS = (TABLE as { types: Record<string, Record<string, string[]>> }).types;

describe('PATIENT_COMPARTMENT_TYPES', () => {
  it('holds the types with compartment params and Patient itself', () => {
    for (const type of [
      'Patient',
      'Observation',
      'Encounter',
      'Claim',
      'ExplanationOfBenefit',
      'Group',
      'Provenance',
    ]) {
      assert.ok(PATIENT_COMPARTMENT_TYPES.has(type), type);
    }
  });

  it('leaves out shared and definitional types', () => {
    for (const type of [
      'Practitioner',
      'Organization',
      'Location',
      'Medication',
      'Device',
      'ValueSet',
      'Bundle',
    ]) {
      assert.equal(PATIENT_COMPARTMENT_TYPES.has(type), false, type);
    }
  });
});

describe('compartmentParams', () => {
  it('lists the params of a type in CompartmentDefinition order', () => {
    assert.deepEqual(compartmentParams('Observation'), ['subject', 'performer']);
    assert.deepEqual(compartmentParams('AllergyIntolerance'), ['patient', 'recorder', 'asserter']);
    assert.deepEqual(compartmentParams('Coverage'), ['policy-holder', 'subscriber', 'beneficiary', 'payor']);
  });

  it('starts the Patient params with the self param', () => {
    assert.deepEqual(compartmentParams('Patient'), [PATIENT_SELF_PARAM, 'link']);
  });

  it('returns an empty list for a type outside the compartment', () => {
    assert.deepEqual(compartmentParams('Practitioner'), []);
    assert.deepEqual(compartmentParams('NotAType'), []);
  });
});

describe('generated patient compartment table', () => {
  it('compiles the FHIRPath expressions to element paths', () => {
    assert.deepEqual(PARAM_PATHS.Observation, { subject: ['subject'], performer: ['performer'] });
    assert.deepEqual(PARAM_PATHS.Condition, { patient: ['subject'], asserter: ['asserter'] });
    assert.deepEqual(PARAM_PATHS.AuditEvent, { patient: ['agent.who', 'entity.what'] });
    assert.deepEqual(PARAM_PATHS.Patient, { link: ['link.other'] });
    assert.deepEqual(PARAM_PATHS.Group, { member: ['member.entity'] });
    assert.deepEqual(PARAM_PATHS.Task, { patient: ['for'], focus: ['focus'] });
  });
});

describe('patientCompartmentRefs', () => {
  it('returns the patient of an Observation subject and performer', () => {
    const refs = patientCompartmentRefs({
      resourceType: 'Observation',
      subject: { reference: 'Patient/p1' },
      performer: [{ reference: 'Practitioner/dr' }, { reference: 'Patient/p2' }],
    });
    assert.deepEqual(refs, [
      { param: 'subject', patientId: 'p1' },
      { param: 'performer', patientId: 'p2' },
    ]);
  });

  it('walks arrays at every level of a path', () => {
    const refs = patientCompartmentRefs({
      resourceType: 'CarePlan',
      subject: { reference: 'Group/g' },
      activity: [
        { detail: { performer: [{ reference: 'Patient/a' }, { reference: 'RelatedPerson/r' }] } },
        { detail: { performer: [{ reference: 'Patient/b' }] } },
        { reference: { reference: 'Patient/not-a-performer' } },
      ],
    });
    assert.deepEqual(refs, [
      { param: 'performer', patientId: 'a' },
      { param: 'performer', patientId: 'b' },
    ]);
  });

  it('follows absolute and versioned references to a Patient', () => {
    const refs = patientCompartmentRefs({
      resourceType: 'Encounter',
      subject: { reference: 'https://example.org/fhir/Patient/p1/_history/4' },
    });
    assert.deepEqual(refs, [{ param: 'subject', patientId: 'p1' }]);
  });

  it('de-duplicates a patient reached twice by one param but keeps each param', () => {
    const refs = patientCompartmentRefs({
      resourceType: 'AuditEvent',
      agent: [{ who: { reference: 'Patient/p1' } }, { who: { reference: 'Patient/p1' } }],
      entity: [{ what: { reference: 'http://example.org/Patient/p1' } }],
    });
    assert.deepEqual(refs, [{ param: 'patient', patientId: 'p1' }]);
    const invoice = patientCompartmentRefs({ resourceType: 'Invoice', subject: { reference: 'Patient/p1' } });
    assert.deepEqual(invoice, [
      { param: 'subject', patientId: 'p1' },
      { param: 'patient', patientId: 'p1' },
    ]);
  });

  it('ignores urn:uuid, contained, conditional and non-Patient references', () => {
    const refs = patientCompartmentRefs({
      resourceType: 'Observation',
      subject: { reference: 'urn:uuid:3b1a9cb0-e3d3-4bce-8b20-864c3dc7e8c0', type: 'Patient' },
      performer: [
        { reference: '#p' },
        { reference: 'Patient?identifier=x|1' },
        { reference: 'Practitioner/p1' },
        { display: 'Patient/p1' },
      ],
    });
    assert.deepEqual(refs, []);
  });

  it('puts a Patient in its own compartment and in those it links to', () => {
    const refs = patientCompartmentRefs({
      resourceType: 'Patient',
      id: 'p1',
      link: [
        { other: { reference: 'Patient/p2' }, type: 'seealso' },
        { other: { reference: 'RelatedPerson/r1' }, type: 'seealso' },
      ],
      generalPractitioner: [{ reference: 'Patient/not-linked' }],
    });
    assert.deepEqual(refs, [
      { param: PATIENT_SELF_PARAM, patientId: 'p1' },
      { param: 'link', patientId: 'p2' },
    ]);
  });

  it('returns nothing for a type outside the compartment', () => {
    assert.deepEqual(
      patientCompartmentRefs({ resourceType: 'Device', patient: { reference: 'Patient/p1' } }),
      [],
    );
  });

  it('tolerates elements of the wrong shape', () => {
    const refs = patientCompartmentRefs({
      resourceType: 'Observation',
      subject: 'Patient/p1',
      performer: [null, 3, [{ reference: 'Patient/p2' }], { reference: 7 }],
    });
    assert.deepEqual(refs, [{ param: 'performer', patientId: 'p2' }]);
  });
});

/** Every reference string in `node` that points at a Patient, with its element path (array indices dropped). */
function patientRefsByPath(node: unknown, path: string[], out: { path: string; patientId: string }[]): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) patientRefsByPath(item, path, out);
    return;
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === 'reference' && typeof value === 'string') {
      const parsed = parseReference(value);
      if (parsed?.type === 'Patient') out.push({ path: path.join('.'), patientId: parsed.id });
    } else {
      patientRefsByPath(value, [...path, key], out);
    }
  }
}

/** What the compartment should hold, computed without the compiled paths; `outside` gets the other Patient refs. */
function bruteForceRefs(resource: FhirResource, outside: Set<string>): Set<string> {
  const expected = new Set<string>();
  if (resource.resourceType === 'Patient') expected.add(`${PATIENT_SELF_PARAM}|${resource.id}`);
  const params = PARAM_PATHS[resource.resourceType] ?? {};
  const found: { path: string; patientId: string }[] = [];
  patientRefsByPath(resource, [], found);
  for (const { path, patientId } of found) {
    const matching = Object.entries(params).filter(([, paths]) => paths.includes(path));
    for (const [param] of matching) expected.add(`${param}|${patientId}`);
    if (matching.length === 0) outside.add(`${resource.resourceType}.${path}`);
  }
  return expected;
}

function readAll(set: DataSet): FhirResource[] {
  return [...countDataSet(set).byType.keys()].flatMap((type) => readDataSet(set, type) as FhirResource[]);
}

for (const set of await dataSets())
  describe(`patientCompartmentRefs on the ${set.name} data set`, () => {
    it('matches a brute-force walk of every reference and ties clinical data to known patients', () => {
      const resources = readAll(set);
      const patientIds = new Set(resources.filter((r) => r.resourceType === 'Patient').map((r) => r.id));
      assert.ok(patientIds.size > 0);
      const mustHavePatient = new Set([
        'Observation',
        'Encounter',
        'Claim',
        'ExplanationOfBenefit',
        'Condition',
        'Procedure',
      ]);
      const perType = new Map<string, number>();
      const outside = new Set<string>();
      for (const resource of resources) {
        const refs: CompartmentRef[] = patientCompartmentRefs(resource);
        const actual = refs.map((r) => `${r.param}|${r.patientId}`);
        assert.equal(
          new Set(actual).size,
          actual.length,
          `duplicates in ${resource.resourceType}/${resource.id}`,
        );
        assert.deepEqual(
          new Set(actual),
          bruteForceRefs(resource, outside),
          `${resource.resourceType}/${resource.id}`,
        );
        for (const { patientId } of refs)
          assert.ok(patientIds.has(patientId), `unknown patient ${patientId}`);
        if (mustHavePatient.has(resource.resourceType)) {
          assert.ok(refs.length > 0, `${resource.resourceType}/${resource.id} has no patient`);
        }
        if (refs.length > 0)
          perType.set(resource.resourceType, (perType.get(resource.resourceType) ?? 0) + 1);
      }
      for (const type of mustHavePatient)
        assert.ok((perType.get(type) ?? 0) > 0, `no ${type} in the data set`);
      assert.equal(perType.get('Patient'), patientIds.size);
      // The only Patient references the compartment does not follow: Device is outside the R4 compartment,
      // and a contained resource's references are its container's business.
      const notFollowed = ['Device.patient', 'ExplanationOfBenefit.contained.subject'];
      assert.deepEqual(
        [...outside].filter((p) => !notFollowed.includes(p)),
        [],
      );
      if (set.name === 'synthea') {
        // Synthea's Group members are urn:uuid references, which the compartment cannot type.
        assert.equal(perType.get('Group'), undefined);
        assert.deepEqual([...outside].sort(), notFollowed);
      }
    });
  });
