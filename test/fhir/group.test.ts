import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { groupMemberRefs } from '../../src/fhir/index.js';

describe('groupMemberRefs', () => {
  it('returns each member reference in order with its inactive flag', () => {
    const result = groupMemberRefs({
      resourceType: 'Group',
      member: [
        { entity: { reference: 'Patient/a' } },
        { entity: { reference: 'Patient/b' }, inactive: true },
        { entity: { reference: 'http://example.org/fhir/Practitioner/c' }, inactive: false },
      ],
    });
    assert.deepEqual(result, {
      members: [
        { ref: { type: 'Patient', id: 'a' }, inactive: false },
        { ref: { type: 'Patient', id: 'b' }, inactive: true },
        { ref: { type: 'Practitioner', id: 'c' }, inactive: false },
      ],
      invalid: [],
    });
  });

  it('returns a urn:uuid member untyped for the caller to resolve', () => {
    const uuid = '687eb477-32ae-44ac-a0ef-2912623a14ff';
    const { members } = groupMemberRefs({
      resourceType: 'Group',
      member: [{ entity: { reference: `urn:uuid:${uuid}` } }],
    });
    assert.deepEqual(members, [{ ref: { id: uuid }, inactive: false }]);
  });

  it('lists members it cannot follow by index instead of dropping them', () => {
    const result = groupMemberRefs({
      resourceType: 'Group',
      member: [
        { entity: { reference: '#p1' } },
        { entity: { identifier: { value: 'x' } } },
        { entity: { reference: 'Patient/ok' } },
        null,
        { entity: { reference: 42 } },
      ],
    });
    assert.deepEqual(result.members, [{ ref: { type: 'Patient', id: 'ok' }, inactive: false }]);
    assert.deepEqual(result.invalid, [
      { index: 0, reference: '#p1' },
      { index: 1 },
      { index: 3 },
      { index: 4 },
    ]);
  });

  it('returns no members for a Group without member', () => {
    assert.deepEqual(groupMemberRefs({ resourceType: 'Group', type: 'person', actual: true }), {
      members: [],
      invalid: [],
    });
  });

  it('throws TypeError for a resource that is not a Group', () => {
    assert.throws(() => groupMemberRefs({ resourceType: 'Patient', id: 'p' }), TypeError);
  });
});
