import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isValidId } from '../../src/fhir/index.js';
import type { FhirResource } from '../../src/fhir/index.js';
import { estimateResources, generateResources, patientsForResources } from '../../src/generate/index.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function digest(patients: number, seed: number): string {
  const hash = createHash('sha256');
  for (const r of generateResources({ patients, seed })) hash.update(JSON.stringify(r) + '\n');
  return hash.digest('hex');
}

/** Every `reference` string anywhere inside `value`. */
function references(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) references(item, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'reference' && typeof item === 'string') out.push(item);
      else references(item, out);
    }
  }
  return out;
}

describe('generateResources', () => {
  const resources: FhirResource[] = [...generateResources({ patients: 40, seed: 7 })];

  it('produces the same bytes for the same patients and seed', () => {
    assert.equal(digest(25, 3), digest(25, 3));
  });

  it('produces different output for a different seed', () => {
    assert.notEqual(digest(25, 3), digest(25, 4));
  });

  it('gives a patient the same record whatever the total number of patients', () => {
    const patients = (n: number) =>
      [...generateResources({ patients: n, seed: 9 })]
        .filter((r) => r.resourceType === 'Patient')
        .map((r) => JSON.stringify(r));
    assert.deepEqual(patients(20).slice(0, 10), patients(10));
  });

  it('gives every resource a unique UUID-shaped id', () => {
    const keys = new Set<string>();
    for (const r of resources) {
      assert.ok(isValidId(r.id) && UUID_RE.test(r.id), `bad id ${String(r.id)}`);
      keys.add(r.id);
    }
    assert.equal(keys.size, resources.length);
  });

  it('resolves every reference within the generated set', () => {
    const keys = new Set(resources.map((r) => `${r.resourceType}/${r.id}`));
    let checked = 0;
    for (const r of resources) {
      for (const ref of references(r)) {
        assert.ok(keys.has(ref), `${r.resourceType}/${r.id} points at missing ${ref}`);
        checked++;
      }
    }
    assert.ok(checked > resources.length);
  });

  it('emits shared resources first, then patient records, then groups', () => {
    const firstPatient = resources.findIndex((r) => r.resourceType === 'Patient');
    const firstGroup = resources.findIndex((r) => r.resourceType === 'Group');
    const sharedTypes = new Set(resources.slice(0, firstPatient).map((r) => r.resourceType));
    assert.deepEqual([...sharedTypes].sort(), ['Location', 'Medication', 'Organization', 'Practitioner']);
    assert.ok(resources.slice(firstGroup).every((r) => r.resourceType === 'Group'));
  });

  it('covers every resource type the benchmark exports', () => {
    const types = new Set(resources.map((r) => r.resourceType));
    for (const type of [
      'AllergyIntolerance',
      'Claim',
      'Condition',
      'Coverage',
      'Device',
      'DocumentReference',
      'Encounter',
      'ExplanationOfBenefit',
      'Group',
      'Immunization',
      'Location',
      'Medication',
      'MedicationRequest',
      'Observation',
      'Organization',
      'Patient',
      'Practitioner',
      'Procedure',
      'Provenance',
    ]) {
      assert.ok(types.has(type), `no ${type}`);
    }
    assert.equal(resources.filter((r) => r.resourceType === 'Patient').length, 40);
  });

  it('references some Medications from MedicationRequests and codes the others inline', () => {
    const requests = resources.filter((r) => r.resourceType === 'MedicationRequest');
    assert.ok(requests.some((r) => r.medicationReference !== undefined));
    assert.ok(requests.some((r) => r.medicationCodeableConcept !== undefined));
  });

  it('builds groups including one empty group and one with a nested Group member', () => {
    const groups = resources.filter((r) => r.resourceType === 'Group');
    assert.ok(groups.length >= 4 && groups.length <= 8);
    const members = (g: FhirResource) => (g.member as { entity: { reference: string } }[] | undefined) ?? [];
    assert.equal(groups.filter((g) => members(g).length === 0).length, 1);
    const nested = groups.filter((g) => members(g).some((m) => m.entity.reference.startsWith('Group/')));
    assert.equal(nested.length, 1);
    for (const g of groups) assert.equal(g.quantity, members(g).length);
  });

  it('rejects a negative patient count as a programmer error', () => {
    assert.throws(() => [...generateResources({ patients: -1, seed: 1 })], TypeError);
  });
});

describe('estimateResources', () => {
  it('is within 5% of the actual count for 300 patients', () => {
    let actual = 0;
    for (const _ of generateResources({ patients: 300, seed: 11 })) actual++;
    const estimate = estimateResources(300);
    assert.ok(Math.abs(estimate - actual) / actual < 0.05, `estimate ${estimate}, actual ${actual}`);
  });

  it('averages 50 to 60 resources per patient, so a million resources is about 18 thousand patients', () => {
    const perPatient = (estimateResources(10_000) - estimateResources(0)) / 10_000;
    assert.ok(perPatient >= 50 && perPatient <= 60);
    const patients = patientsForResources(1_000_000);
    assert.ok(patients > 16_000 && patients < 20_000);
    assert.ok(Math.abs(estimateResources(patients) - 1_000_000) < 100);
  });
});

describe('generateResources with no patients', () => {
  it('yields only the shared resources and the groups, all references resolving', () => {
    const resources = [...generateResources({ patients: 0, seed: 1 })];
    const types = new Set(resources.map((r) => r.resourceType));
    assert.deepEqual([...types].sort(), ['Group', 'Location', 'Medication', 'Organization', 'Practitioner']);
    const keys = new Set(resources.map((r) => `${r.resourceType}/${r.id}`));
    for (const r of resources) for (const ref of references(r)) assert.ok(keys.has(ref), ref);
  });
});
