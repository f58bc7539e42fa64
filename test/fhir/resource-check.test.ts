import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RESOURCE_DEPTH, checkResource } from '../../src/fhir/index.js';

/** A Patient whose `extension` nests arrays so that the resource is `depth` levels deep. */
function nested(depth: number): unknown {
  return JSON.parse(
    `{"resourceType":"Patient","id":"x","extension":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`,
  );
}

describe('checkResource', () => {
  test('accepts a resource nested exactly to the limit and refuses one level more', () => {
    assert.equal(checkResource(nested(MAX_RESOURCE_DEPTH), { id: 'required' }).id, 'x');
    assert.throws(() => checkResource(nested(MAX_RESOURCE_DEPTH + 1), { id: 'required' }), {
      code: 'FHIRHOSE_ERR_NESTING_TOO_DEEP',
      issueCode: 'too-costly',
      expression: 'Patient',
    });
  });

  test('refuses 100,000 levels of objects without running out of stack', () => {
    const deep = JSON.parse(`{"resourceType":"Patient",${'"a":{'.repeat(100_000)}${'}'.repeat(100_000)}}`);
    assert.throws(() => checkResource(deep, { id: 'ignored' }), { code: 'FHIRHOSE_ERR_NESTING_TOO_DEEP' });
  });

  test('names the first null property by its FHIRPath, and allows null inside arrays', () => {
    const value = { resourceType: 'Patient', name: [{ given: ['a', null], family: null }] };
    assert.throws(() => checkResource(value, { id: 'ignored' }), {
      code: 'FHIRHOSE_ERR_UNPROCESSABLE',
      expression: 'Patient.name[0].family',
      message: 'Patient.name[0].family is null; FHIR JSON omits empty elements',
    });
    const aligned = { resourceType: 'Patient', name: [{ given: ['a', null], _given: [null, { id: 'g' }] }] };
    assert.equal(checkResource(aligned, { id: 'ignored' }), aligned);
  });

  test('refuses a meta that is not an object', () => {
    for (const meta of [[], 'x', null]) {
      assert.throws(() => checkResource({ resourceType: 'Patient', meta }, { id: 'ignored' }), {
        code: 'FHIRHOSE_ERR_UNPROCESSABLE',
        expression: 'Patient.meta',
      });
    }
  });

  test('requires a valid id only when the rules say so', () => {
    const value = { resourceType: 'Patient', id: 'not valid' };
    assert.equal(checkResource(value, { id: 'ignored' }), value);
    assert.throws(() => checkResource(value, { id: 'required' }), {
      code: 'FHIRHOSE_ERR_INVALID_REQUEST',
      expression: 'Patient.id',
    });
  });

  test('refuses what is not a resource of a known type', () => {
    for (const value of [[1], 'Patient', null, { name: 'x' }, { resourceType: 'Nonsense' }]) {
      assert.throws(() => checkResource(value, { id: 'ignored' }), {
        code: 'FHIRHOSE_ERR_INVALID_REQUEST',
        expression: 'resourceType',
      });
    }
  });
});
