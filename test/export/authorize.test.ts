import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ScopeSet } from '../../src/auth/index.js';
import { authorizeExport } from '../../src/export/index.js';
import type { ExportRequest } from '../../src/export/index.js';

function request(extra: Partial<ExportRequest> = {}): ExportRequest {
  return {
    level: 'system',
    requestUrl: 'https://fhir.example.test/$export',
    outputFormat: 'application/fhir+ndjson',
    typeFilters: [],
    elements: [],
    includeAssociatedData: [],
    allowPartialManifests: false,
    lenient: false,
    separateExportStatus: false,
    warnings: [],
    ...extra,
  };
}

const forbidden = { code: 'FHIRHOSE_ERR_FORBIDDEN', issueCode: 'forbidden' };

describe('authorizeExport', () => {
  test('leaves a request alone when a wildcard scope covers it', () => {
    const r = request();
    assert.equal(authorizeExport(r, ScopeSet.parse('system/*.read')), r);
    assert.equal(authorizeExport(r, ScopeSet.parse('system/*.rs')).types, undefined);
  });

  test('narrows an export without _type to the readable types', () => {
    const out = authorizeExport(request(), ScopeSet.parse('system/Patient.rs system/Observation.read'));
    assert.deepEqual(out.types, ['Observation', 'Patient']);
  });

  test('refuses includeAssociatedData when the scopes do not cover Provenance', () => {
    const r = request({ types: ['Observation'], includeAssociatedData: ['RelevantProvenanceResources'] });
    assert.throws(() => authorizeExport(r, ScopeSet.parse('system/Observation.rs')), {
      ...forbidden,
      expression: 'includeAssociatedData',
    });
    assert.equal(authorizeExport(r, ScopeSet.parse('system/Observation.rs system/Provenance.rs')), r);
  });

  test('narrowing a patient-level export leaves out Group cohorts', () => {
    const out = authorizeExport(
      request({ level: 'patient' }),
      ScopeSet.parse('system/Patient.rs system/Group.rs system/Observation.rs'),
    );
    assert.deepEqual(out.types, ['Observation', 'Patient']);
  });

  test('refuses a _type the scopes do not cover', () => {
    const scopes = ScopeSet.parse('system/Patient.rs');
    assert.throws(() => authorizeExport(request({ types: ['Patient', 'Condition'] }), scopes), {
      ...forbidden,
      expression: '_type',
    });
  });

  test('refuses a _typeFilter on a type the scopes do not cover', () => {
    const scopes = ScopeSet.parse('system/Patient.rs');
    assert.throws(() => authorizeExport(request({ typeFilters: ['Condition?code=x'] }), scopes), {
      ...forbidden,
      expression: '_typeFilter',
    });
  });

  test('refuses read-only scopes without search', () => {
    assert.throws(
      () => authorizeExport(request({ types: ['Patient'] }), ScopeSet.parse('system/Patient.r')),
      forbidden,
    );
  });

  test('requires Group read for a Group export', () => {
    const group = request({ level: 'group', groupId: 'g1' });
    assert.throws(() => authorizeExport(group, ScopeSet.parse('system/Patient.rs')), {
      ...forbidden,
      expression: 'Group',
    });
    const out = authorizeExport(group, ScopeSet.parse('system/Patient.rs system/Group.rs'));
    assert.deepEqual(out.types, ['Patient']);
  });

  test('refuses a grant that reads nothing', () => {
    assert.throws(() => authorizeExport(request(), ScopeSet.parse('system/*.cud')), forbidden);
  });
});
