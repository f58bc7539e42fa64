import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createViewRunner, referenceKey } from '../../src/views/index.js';

describe('referenceKey', () => {
  test('takes the id of a relative Type/id reference', () => {
    assert.equal(referenceKey({ reference: 'Patient/p1' }), 'p1');
    assert.equal(referenceKey({ reference: 'Patient/p1' }, 'Patient'), 'p1');
  });

  test('takes the last Type/id of an absolute URL, ignoring a version', () => {
    assert.equal(
      referenceKey({ reference: 'https://x.example/fhir/Patient/p1/_history/4' }, 'Patient'),
      'p1',
    );
  });

  test('gives empty for another type, a contained, urn: or missing reference', () => {
    assert.equal(referenceKey({ reference: 'Patient/p1' }, 'Group'), undefined);
    assert.equal(referenceKey({ reference: '#c1' }), undefined);
    assert.equal(referenceKey({ reference: 'urn:uuid:4f3c2a3e-8f62-4b5e-9d39-1c1a7d1d2a11' }), undefined);
    assert.equal(referenceKey({ display: 'no reference' }), undefined);
    assert.equal(referenceKey({ reference: 'not a reference' }), undefined);
  });

  test('joins getReferenceKey to getResourceKey in a view', () => {
    const runner = createViewRunner({
      resource: 'Observation',
      select: [
        {
          column: [
            { name: 'id', path: 'getResourceKey()' },
            { name: 'patient', path: 'subject.getReferenceKey(Patient)' },
            { name: 'group', path: 'subject.getReferenceKey(Group)' },
            { name: 'same', path: "subject.getReferenceKey() = 'p1'" },
          ],
        },
      ],
    });
    assert.deepEqual(
      runner.rows({ resourceType: 'Observation', id: 'o1', subject: { reference: 'Patient/p1' } }),
      [{ id: 'o1', patient: 'p1', group: null, same: true }],
    );
  });
});
