// The Bulk Data OperationDefinitions this server implements (STU3 shapes, trimmed to what clients read).
const BASE = 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition';

interface Param {
  name: string;
  use: 'in' | 'out';
  min: number;
  max: string;
  type: string;
  documentation: string;
}

const p = (name: string, type: string, documentation: string, max = '1'): Param => ({
  name,
  use: 'in',
  min: 0,
  max,
  type,
  documentation,
});

const COMMON: Param[] = [
  p('_outputFormat', 'string', 'application/fhir+ndjson (aliases application/ndjson, ndjson)'),
  p('_since', 'instant', 'resources with meta.lastUpdated after this instant'),
  p('_until', 'instant', 'resources with meta.lastUpdated before this instant'),
  p('_type', 'string', 'comma-separated resource types; may repeat', '*'),
  p('_elements', 'string', 'root elements to keep; mandatory elements always kept, tagged SUBSETTED', '*'),
  p('includeAssociatedData', 'code', 'LatestProvenanceResources, RelevantProvenanceResources', '*'),
  p('_typeFilter', 'string', 'FHIR search queries, one per value, OR-ed within a type', '*'),
  p('organizeOutputBy', 'string', 'Patient', '1'),
  p('allowPartialManifests', 'boolean', 'manifests may be returned while the job runs'),
];

function definition(
  id: string,
  title: string,
  extra: Record<string, unknown>,
  params: Param[],
): Record<string, unknown> {
  return {
    resourceType: 'OperationDefinition',
    id,
    url: `${BASE}/${id}`,
    version: '3.0.0',
    name: title.replace(/\W/g, ''),
    title,
    status: 'active',
    kind: 'operation',
    code: 'export',
    affectsState: false,
    system: false,
    type: false,
    instance: false,
    ...extra,
    parameter: params,
  };
}

/** The three OperationDefinitions, by id. */
export const OPERATION_DEFINITIONS: Readonly<Record<string, Record<string, unknown>>> = {
  export: definition('export', 'FHIR Bulk Data System Level Export', { system: true }, COMMON),
  'patient-export': definition(
    'patient-export',
    'FHIR Bulk Data Patient Level Export',
    { type: true, resource: ['Patient'] },
    [...COMMON, p('patient', 'Reference', 'POST only: restrict to these patients', '*')],
  ),
  'group-export': definition(
    'group-export',
    'FHIR Bulk Data Group Level Export',
    { instance: true, resource: ['Group'] },
    [...COMMON, p('patient', 'Reference', 'POST only: restrict to these members', '*')],
  ),
};

/** Canonical URL of one of our OperationDefinitions. */
export function operationCanonical(id: string): string {
  return `${BASE}/${id}`;
}
