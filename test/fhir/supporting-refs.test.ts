import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SUPPORTING_TYPES, supportingRefs } from '../../src/fhir/index.js';

describe('supportingRefs', () => {
  it('finds supporting references at any depth, in order of first appearance', () => {
    const refs = supportingRefs({
      resourceType: 'Encounter',
      id: 'e1',
      subject: { reference: 'Patient/p1' },
      participant: [
        { individual: { reference: 'Practitioner/dr1' } },
        { individual: { reference: 'PractitionerRole/r1' } },
      ],
      location: [{ location: { reference: 'Location/l1' } }],
      serviceProvider: { reference: 'Organization/o1' },
      extension: [{ url: 'http://x', valueReference: { reference: 'Device/d1' } }],
      contained: [{ resourceType: 'MedicationRequest', medicationReference: { reference: 'Medication/m1' } }],
    });
    assert.deepEqual(refs, [
      { type: 'Practitioner', id: 'dr1' },
      { type: 'PractitionerRole', id: 'r1' },
      { type: 'Location', id: 'l1' },
      { type: 'Organization', id: 'o1' },
      { type: 'Device', id: 'd1' },
      { type: 'Medication', id: 'm1' },
    ]);
  });

  it('de-duplicates the same resource reached by relative, absolute and versioned references', () => {
    const refs = supportingRefs({
      resourceType: 'Claim',
      provider: { reference: 'Organization/o1' },
      insurer: { reference: 'https://example.org/fhir/Organization/o1' },
      careTeam: [
        { provider: { reference: 'Organization/o1/_history/3' } },
        { provider: { reference: 'Organization/o2' } },
      ],
    });
    assert.deepEqual(refs, [
      { type: 'Organization', id: 'o1' },
      { type: 'Organization', id: 'o2' },
    ]);
  });

  it('ignores clinical types and references that name no stored resource', () => {
    const refs = supportingRefs({
      resourceType: 'Observation',
      subject: { reference: 'Patient/p1' },
      encounter: { reference: 'Encounter/e1' },
      performer: [
        { reference: '#contained-practitioner' },
        { reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|123' },
        { reference: 'urn:uuid:3b1a9cb0-e3d3-4bce-8b20-864c3dc7e8c0', type: 'Practitioner' },
        { display: 'Dr. Nobody' },
      ],
    });
    assert.deepEqual(refs, []);
  });

  it('only treats string values under a reference key as references', () => {
    const refs = supportingRefs({
      resourceType: 'Basic',
      code: { text: 'Organization/o1' },
      reference: { reference: 'Location/l1' },
    });
    assert.deepEqual(refs, [{ type: 'Location', id: 'l1' }]);
  });

  it('documents its types in SUPPORTING_TYPES', () => {
    assert.deepEqual([...SUPPORTING_TYPES].sort(), [
      'Device',
      'Location',
      'Medication',
      'Organization',
      'Practitioner',
      'PractitionerRole',
    ]);
  });
});
