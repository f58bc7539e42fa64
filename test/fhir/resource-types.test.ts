import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RESOURCE_TYPES, isResourceType } from '../../src/fhir/index.js';

describe('RESOURCE_TYPES', () => {
  it('holds the 146 concrete R4 resource types', () => {
    assert.equal(RESOURCE_TYPES.size, 146);
    for (const type of ['Patient', 'Observation', 'Bundle', 'Parameters', 'Binary', 'VisionPrescription']) {
      assert.ok(RESOURCE_TYPES.has(type), type);
    }
  });

  it('leaves out abstract types and types from later FHIR versions', () => {
    for (const type of [
      'Resource',
      'DomainResource',
      'SubscriptionStatus',
      'SubscriptionTopic',
      'Ingredient',
    ]) {
      assert.equal(RESOURCE_TYPES.has(type), false, type);
    }
  });
});

describe('isResourceType', () => {
  it('accepts an R4 resource type', () => {
    assert.equal(isResourceType('Encounter'), true);
  });

  it('is case-sensitive and rejects non-strings', () => {
    assert.equal(isResourceType('patient'), false);
    assert.equal(isResourceType('Patient '), false);
    assert.equal(isResourceType(undefined), false);
    assert.equal(isResourceType(42), false);
  });
});
