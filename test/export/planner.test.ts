import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { provenanceMode } from '../../src/export/planner.js';
import type { ExportRequest } from '../../src/export/types.js';

const BASE: ExportRequest = {
  level: 'patient',
  requestUrl: 'https://x.test/fhir/Patient/$export',
  outputFormat: 'application/fhir+ndjson',
  typeFilters: [],
  elements: [],
  includeAssociatedData: [],
  allowPartialManifests: false,
  lenient: true,
  separateExportStatus: false,
  warnings: [],
};

describe('provenanceMode', () => {
  it('includes Provenance targeting the compartment by default at patient level', () => {
    assert.equal(provenanceMode(BASE), 'relevant');
  });

  it('leaves out Provenance whose every _typeFilter query was dropped under lenient handling', () => {
    assert.equal(provenanceMode({ ...BASE, excludedTypes: ['Provenance'] }), undefined);
    const asked = { ...BASE, includeAssociatedData: ['RelevantProvenanceResources'] };
    assert.equal(provenanceMode({ ...asked, excludedTypes: ['Provenance'] }), undefined);
  });
});
