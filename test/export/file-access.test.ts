import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ScopeSet } from '../../src/auth/index.js';
import { assertMayReadFile, fileTypes, mayReadFile } from '../../src/export/file-access.js';
import type { ListedFile } from '../../src/export/file-access.js';
import type { FileKind, UnitSpec } from '../../src/export/index.js';

function listed(spec: UnitSpec, kind: FileKind, type: string): ListedFile {
  return { spec, file: { kind, type, name: `1.${type}.1.ndjson`, count: 1, bytes: 10 } };
}

const patientOnly = ScopeSet.parse('system/Patient.read');
const forbidden = { code: 'FHIRHOSE_ERR_FORBIDDEN', issueCode: 'forbidden' };

describe('fileTypes', () => {
  test('a resources or supporting file holds its unit type', () => {
    assert.deepEqual(fileTypes(listed({ kind: 'resources', type: 'Observation' }, 'output', 'Observation')), [
      'Observation',
    ]);
    assert.deepEqual(
      fileTypes(listed({ kind: 'supporting', type: 'Practitioner' }, 'output', 'Practitioner')),
      ['Practitioner'],
    );
  });

  test('a deleted file holds the deleted type, not Bundle', () => {
    assert.deepEqual(fileTypes(listed({ kind: 'deleted', type: 'Condition' }, 'deleted', 'Bundle')), [
      'Condition',
    ]);
  });

  test('an organized blocks file holds every type of its unit', () => {
    const spec: UnitSpec = { kind: 'blocks', patients: ['p1'], types: ['Observation', 'Patient'] };
    assert.deepEqual(fileTypes(listed(spec, 'output', '')), ['Observation', 'Patient']);
  });

  test('a provenance file holds Provenance', () => {
    const spec: UnitSpec = { kind: 'provenance', mode: 'relevant', targetTypes: ['Patient'] };
    assert.deepEqual(fileTypes(listed(spec, 'output', 'Provenance')), ['Provenance']);
  });

  test('a member unit file holds its own type, and a found Provenance file holds Provenance', () => {
    const members: UnitSpec = { kind: 'members', patients: ['p1'], types: ['Observation', 'Patient'] };
    assert.deepEqual(fileTypes(listed(members, 'output', 'Observation')), ['Observation']);
    const range: UnitSpec = { kind: 'memberRange', after: 0, types: ['Observation', 'Patient'] };
    assert.deepEqual(fileTypes(listed(range, 'output', 'Patient')), ['Patient']);
    assert.equal(mayReadFile(patientOnly, listed(range, 'output', 'Observation')), false);
    assert.equal(mayReadFile(patientOnly, listed(members, 'output', 'Observation')), false);
    assert.deepEqual(fileTypes(listed({ kind: 'foundProvenance' }, 'output', 'Provenance')), ['Provenance']);
  });

  test('an error file holds no resource data, whatever unit wrote it', () => {
    assert.equal(fileTypes(listed({ kind: 'warnings' }, 'error', 'OperationOutcome')), undefined);
    const failed = listed({ kind: 'resources', type: 'Observation' }, 'error', 'OperationOutcome');
    assert.equal(fileTypes(failed), undefined);
  });

  test('a data file of a unit kind that writes none is a bug', () => {
    assert.throws(() => fileTypes(listed({ kind: 'warnings' }, 'output', 'Patient')), TypeError);
  });
});

describe('mayReadFile', () => {
  test('lets every caller read every file when authorization is off', () => {
    assert.equal(
      mayReadFile(undefined, listed({ kind: 'resources', type: 'Observation' }, 'output', 'x')),
      true,
    );
  });

  test('needs read access to the file type', () => {
    const observations = listed({ kind: 'resources', type: 'Observation' }, 'output', 'Observation');
    assert.equal(
      mayReadFile(patientOnly, listed({ kind: 'resources', type: 'Patient' }, 'output', 'P')),
      true,
    );
    assert.equal(mayReadFile(patientOnly, observations), false);
    assert.equal(mayReadFile(ScopeSet.parse('system/*.rs'), observations), true);
    assert.equal(
      mayReadFile(ScopeSet.parse('system/Observation.r'), observations),
      false,
      'read without search',
    );
  });

  test('needs every type of a blocks file', () => {
    const blocks = listed(
      { kind: 'blocks', patients: ['p1'], types: ['Observation', 'Patient'] },
      'output',
      '',
    );
    assert.equal(mayReadFile(patientOnly, blocks), false);
    assert.equal(mayReadFile(ScopeSet.parse('system/Patient.rs system/Observation.rs'), blocks), true);
  });

  test('refuses a blocks file that names no type', () => {
    const blocks = listed({ kind: 'blocks', patients: ['p1'], types: [] }, 'output', '');
    assert.equal(mayReadFile(ScopeSet.parse('system/*.rs'), blocks), false);
  });

  test('lets any token of the owner read an error file', () => {
    const failed = listed({ kind: 'resources', type: 'Observation' }, 'error', 'OperationOutcome');
    assert.equal(mayReadFile(ScopeSet.parse('system/Patient.rs'), failed), true);
    assert.equal(mayReadFile(new ScopeSet([]), failed), true);
  });
});

describe('assertMayReadFile', () => {
  test('throws ForbiddenError naming the types the scopes do not cover', () => {
    const deleted = listed({ kind: 'deleted', type: 'AllergyIntolerance' }, 'deleted', 'Bundle');
    assert.throws(() => assertMayReadFile(patientOnly, deleted), {
      ...forbidden,
      message: /AllergyIntolerance/,
    });
  });

  test('passes a covered file and any file with authorization off', () => {
    const deleted = listed({ kind: 'deleted', type: 'Patient' }, 'deleted', 'Bundle');
    assertMayReadFile(patientOnly, deleted);
    assertMayReadFile(undefined, listed({ kind: 'deleted', type: 'Condition' }, 'deleted', 'Bundle'));
  });
});
