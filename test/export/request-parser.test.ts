import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseKickoff } from '../../src/export/request-parser.js';
import { parsePrefer } from '../../src/export/prefer.js';
import type { ExportLevel, KickoffInput } from '../../src/export/types.js';
import { PATIENT_COMPARTMENT_TYPES, SUPPORTING_TYPES } from '../../src/fhir/index.js';

const NOW = Date.parse('2025-06-01T00:00:00Z');
// Binary is an R4 type this server does not export; Library is exported but outside the compartment.
const EXPORTABLE: ReadonlySet<string> = new Set([
  ...PATIENT_COMPARTMENT_TYPES,
  ...SUPPORTING_TYPES,
  'Library',
]);
const OPTIONS = { exportableTypes: EXPORTABLE, now: NOW };
const INVALID = 'FHIRHOSE_ERR_INVALID_REQUEST';
const NOT_SUPPORTED = 'FHIRHOSE_ERR_NOT_SUPPORTED';
const LENIENT = ['respond-async, handling=lenient'];

type Query = KickoffInput['query'];

interface CallOptions {
  level?: ExportLevel;
  prefer?: string[];
}

function get(query: Query, { level = 'system', prefer = ['respond-async'] }: CallOptions = {}) {
  return parseKickoff(
    { level, method: 'GET', query, prefer, requestUrl: 'https://x.test/fhir/$export' },
    OPTIONS,
  );
}

function post(
  parameter: unknown[],
  { level = 'system', prefer = ['respond-async'] }: CallOptions = {},
  query: Query = {},
) {
  const body = { resourceType: 'Parameters', parameter };
  return parseKickoff(
    { level, method: 'POST', query, body, prefer, requestUrl: 'https://x.test/fhir/$export' },
    OPTIONS,
  );
}

function postBody(body: unknown) {
  return parseKickoff(
    {
      level: 'patient',
      method: 'POST',
      query: {},
      body,
      prefer: [],
      requestUrl: 'https://x.test/fhir/Patient/$export',
    },
    OPTIONS,
  );
}

describe('parseKickoff defaults', () => {
  it('returns NDJSON, no filters and no warnings for a bare GET', () => {
    assert.deepEqual(get({}), {
      level: 'system',
      requestUrl: 'https://x.test/fhir/$export',
      outputFormat: 'application/fhir+ndjson',
      typeFilters: [],
      elements: [],
      includeAssociatedData: [],
      allowPartialManifests: false,
      lenient: false,
      separateExportStatus: false,
      warnings: [],
    });
  });

  it('keeps the group id and the request URL as given', () => {
    const request = parseKickoff(
      {
        level: 'group',
        groupId: 'g1',
        method: 'GET',
        query: { _type: 'Patient' },
        prefer: [],
        requestUrl: 'https://x.test/fhir/Group/g1/$export?_type=Patient',
      },
      OPTIONS,
    );
    assert.equal(request.groupId, 'g1');
    assert.equal(request.requestUrl, 'https://x.test/fhir/Group/g1/$export?_type=Patient');
  });

  it('skips query entries whose value is undefined', () => {
    assert.equal(get({ _type: undefined }).types, undefined);
  });
});

describe('parseKickoff _outputFormat', () => {
  for (const alias of ['application/fhir+ndjson', 'application/ndjson', 'ndjson']) {
    it(`normalizes ${alias} to application/fhir+ndjson`, () => {
      assert.equal(get({ _outputFormat: alias }).outputFormat, 'application/fhir+ndjson');
    });
  }

  it('accepts any letter case and a utf-8 charset', () => {
    assert.equal(
      get({ _outputFormat: 'Application/NDJSON; charset=UTF-8' }).outputFormat,
      'application/fhir+ndjson',
    );
  });

  it('accepts application/fhir+ndjson whose + was decoded to a space', () => {
    assert.equal(get({ _outputFormat: 'application/fhir ndjson' }).outputFormat, 'application/fhir+ndjson');
  });

  it('rejects an unknown format as invalid even under lenient handling', () => {
    for (const prefer of [[], LENIENT]) {
      assert.throws(() => get({ _outputFormat: 'text/csv' }, { prefer }), {
        code: INVALID,
        expression: '_outputFormat',
        message: /text\/csv/,
      });
    }
  });

  it('rejects a charset other than utf-8 as invalid', () => {
    assert.throws(() => get({ _outputFormat: 'ndjson; charset=latin1' }), {
      code: INVALID,
      expression: '_outputFormat',
    });
  });

  it('rejects two different formats as invalid and accepts an identical repeat', () => {
    assert.throws(() => get({ _outputFormat: ['ndjson', 'text/csv'] }), {
      code: INVALID,
      expression: '_outputFormat',
    });
    assert.equal(get({ _outputFormat: ['ndjson', 'ndjson'] }).outputFormat, 'application/fhir+ndjson');
  });
});

describe('parseKickoff _since and _until', () => {
  it('parses both instants to epoch milliseconds', () => {
    const request = get({ _since: '2024-01-01T00:00:00Z', _until: '2024-01-02T01:00:00+01:00' });
    assert.equal(request.since, Date.parse('2024-01-01T00:00:00Z'));
    assert.equal(request.until, Date.parse('2024-01-02T00:00:00Z'));
  });

  it('rejects a date without a time as invalid', () => {
    assert.throws(() => get({ _since: '2024-01-01' }), { code: INVALID, expression: '_since' });
  });

  it('rejects a time without a timezone as invalid', () => {
    assert.throws(() => get({ _until: '2024-01-01T00:00:00' }), { code: INVALID, expression: '_until' });
  });

  it('rejects _since in the future as invalid', () => {
    assert.throws(() => get({ _since: '2025-06-01T00:00:01Z' }), { code: INVALID, expression: '_since' });
    assert.equal(get({ _since: '2025-06-01T00:00:00Z' }).since, NOW);
  });

  it('accepts _until in the future', () => {
    assert.equal(get({ _until: '2030-01-01T00:00:00Z' }).until, Date.parse('2030-01-01T00:00:00Z'));
  });

  it('rejects _until equal to or before _since as invalid', () => {
    for (const until of ['2024-01-01T00:00:00Z', '2023-12-31T00:00:00Z']) {
      assert.throws(() => get({ _since: '2024-01-01T00:00:00Z', _until: until }), {
        code: INVALID,
        expression: '_until',
      });
    }
  });
});

describe('parseKickoff _type', () => {
  it('treats repeated _type like one comma-joined value', () => {
    assert.deepEqual(get({ _type: ['Patient', 'Observation'] }), get({ _type: 'Patient,Observation' }));
    assert.deepEqual(get({ _type: ['Patient', 'Observation'] }).types, ['Patient', 'Observation']);
  });

  it('removes duplicates and spaces and keeps the order', () => {
    assert.deepEqual(get({ _type: ['Observation, Patient', 'Observation'] }).types, [
      'Observation',
      'Patient',
    ]);
  });

  it('rejects a type that is not an R4 resource type as invalid', () => {
    assert.throws(() => get({ _type: 'Patient,Foo' }), {
      code: INVALID,
      expression: '_type',
      message: /Foo/,
    });
    assert.throws(() => get({ _type: 'patient' }), { code: INVALID, expression: '_type' });
  });

  it('rejects an empty type as invalid', () => {
    assert.throws(() => get({ _type: 'Patient,,Observation' }), { code: INVALID, expression: '_type' });
  });

  it('rejects an R4 type the server does not export as not supported', () => {
    assert.throws(() => get({ _type: 'Binary' }), {
      code: NOT_SUPPORTED,
      expression: '_type',
      message: /Binary/,
    });
  });

  it('accepts a type outside the Patient compartment at system level', () => {
    assert.deepEqual(get({ _type: 'Library' }).types, ['Library']);
  });

  it('rejects a type outside the Patient compartment at patient and group level as not supported', () => {
    for (const level of ['patient', 'group'] as const) {
      assert.throws(() => get({ _type: 'Patient,Library' }, { level }), {
        code: NOT_SUPPORTED,
        expression: '_type',
      });
    }
  });

  it('accepts supporting types at patient level', () => {
    assert.deepEqual(get({ _type: 'Observation,Practitioner,Organization' }, { level: 'patient' }).types, [
      'Observation',
      'Practitioner',
      'Organization',
    ]);
  });

  it('drops unknown and unsupported types with one warning each under lenient handling', () => {
    const request = get({ _type: 'Foo,Patient,Binary,Library,Foo' }, { level: 'group', prefer: LENIENT });
    assert.deepEqual(request.types, ['Patient']);
    assert.deepEqual(
      request.warnings.map((w) => w.parameter),
      ['_type', '_type', '_type'],
    );
    assert.match(request.warnings[0]?.message ?? '', /'Foo'.*; ignored \(Prefer: handling=lenient\)$/);
  });

  it('rejects a _type with nothing left to export as invalid even under lenient handling', () => {
    assert.throws(() => get({ _type: 'Foo,Binary' }, { prefer: LENIENT }), {
      code: INVALID,
      expression: '_type',
    });
    assert.throws(() => get({ _type: 'Library' }, { level: 'patient', prefer: LENIENT }), {
      code: INVALID,
      expression: '_type',
    });
  });
});

describe('parseKickoff _elements', () => {
  it('treats repeated _elements like one comma-joined value and keeps each item', () => {
    const joined = get({ _type: 'Patient,Observation', _elements: 'id,Patient.name' });
    assert.deepEqual(joined.elements, ['id', 'Patient.name']);
    assert.deepEqual(get({ _type: 'Patient,Observation', _elements: ['id', 'Patient.name'] }), joined);
  });

  it('rejects an element that is not a root element as invalid', () => {
    assert.throws(() => get({ _elements: 'Patient.name.family' }), {
      code: INVALID,
      expression: '_elements',
    });
  });

  it('rejects an element of a type that is not requested as invalid', () => {
    assert.throws(() => get({ _type: 'Patient', _elements: 'Observation.status' }), {
      code: INVALID,
      expression: '_elements',
    });
  });
});

describe('parseKickoff _typeFilter', () => {
  it('keeps repeated filters as separate queries', () => {
    const filters = ['MedicationRequest?status=active', 'MedicationRequest?status=completed,stopped'];
    assert.deepEqual(get({ _typeFilter: filters }).typeFilters, filters);
  });

  it('accepts a v2 comma-joined list of queries and keeps it as given', () => {
    const joined = 'MedicationRequest?status=active,Observation?code=http://loinc.org|8867-4,1234-5';
    assert.deepEqual(get({ _typeFilter: joined }).typeFilters, [joined]);
    assert.throws(() => get({ _typeFilter: 'Observation?status=final,Patient?_include=x' }), {
      code: INVALID,
      expression: '_typeFilter',
    });
  });

  it('rejects a filter with a result parameter as invalid', () => {
    assert.throws(() => get({ _typeFilter: 'Observation?_sort=date' }), {
      code: INVALID,
      expression: '_typeFilter',
    });
  });

  it('rejects a filter without a Type? context as invalid', () => {
    assert.throws(() => get({ _typeFilter: 'status=active' }), { code: INVALID, expression: '_typeFilter' });
  });

  it('rejects an unsupported search parameter as not supported without lenient handling', () => {
    assert.throws(() => get({ _typeFilter: 'Observation?subject.name=x' }), {
      code: NOT_SUPPORTED,
      expression: '_typeFilter',
    });
    assert.throws(() => get({ _typeFilter: 'Patient?status=active' }), {
      code: NOT_SUPPORTED,
      expression: '_typeFilter',
    });
  });

  it('leaves out a type whose only filter is unsupported under lenient handling', () => {
    const request = get({ _typeFilter: 'Patient?status=active' }, { prefer: LENIENT });
    assert.deepEqual(request.typeFilters, []);
    assert.deepEqual(request.excludedTypes, ['Patient']);
    assert.equal(request.warnings.length, 1);
    assert.equal(request.warnings[0]?.parameter, '_typeFilter');
    assert.match(
      request.warnings[0]?.message ?? '',
      /'status'.*Patient\?status=active.*left out of the export/,
    );
  });

  it('keeps the applicable filters of a type and drops its unsupported one under lenient handling', () => {
    const joined = 'Observation?status=final,Observation?subject.name=x,Patient?gender=male';
    const request = get({ _typeFilter: joined }, { prefer: LENIENT });
    assert.deepEqual(request.typeFilters, ['Observation?status=final', 'Patient?gender=male']);
    assert.equal(request.excludedTypes, undefined);
    assert.match(
      request.warnings[0]?.message ?? '',
      /subject\.name.*other _typeFilter queries on Observation/,
    );
  });

  it('rejects a malformed value next to an unsupported parameter even under lenient handling', () => {
    for (const filter of [
      'Observation?subject.name=x&_sort=date',
      'Patient?status=active&birthdate=notadate',
    ]) {
      assert.throws(() => get({ _typeFilter: filter }, { prefer: LENIENT }), {
        code: INVALID,
        expression: '_typeFilter',
      });
    }
  });

  it('keeps the filters as given when all apply under lenient handling', () => {
    const joined = 'MedicationRequest?status=active,Observation?code=http://loinc.org|8867-4,1234-5';
    const request = get({ _typeFilter: joined }, { prefer: LENIENT });
    assert.deepEqual(request.typeFilters, [joined]);
    assert.equal(request.excludedTypes, undefined);
    assert.deepEqual(request.warnings, []);
  });
});

describe('parseKickoff patient', () => {
  const ref = (reference: string) => ({ name: 'patient', valueReference: { reference } });

  it('reads POST references into de-duplicated ids', () => {
    const request = post([ref('Patient/p1'), ref('https://x.test/fhir/Patient/p2'), ref('Patient/p1')], {
      level: 'group',
    });
    assert.deepEqual(request.patients, ['p1', 'p2']);
  });

  it('rejects a reference to another type as invalid', () => {
    assert.throws(() => post([ref('Group/g1')], { level: 'patient' }), {
      code: INVALID,
      expression: 'patient',
    });
    assert.throws(() => post([ref('Patient/')], { level: 'patient' }), {
      code: INVALID,
      expression: 'patient',
    });
  });

  it('rejects patient on a system-level export as invalid even under lenient handling', () => {
    assert.throws(() => post([ref('Patient/p1')], { prefer: LENIENT }), {
      code: INVALID,
      expression: 'patient',
    });
    assert.throws(() => get({ patient: 'Patient/p1' }, { prefer: LENIENT }), {
      code: INVALID,
      expression: 'patient',
    });
  });

  it('rejects patient in a GET query as invalid', () => {
    assert.throws(() => get({ patient: 'Patient/p1' }, { level: 'patient' }), {
      code: INVALID,
      expression: 'patient',
    });
  });

  it('ignores patient in a GET query with a warning under lenient handling', () => {
    const request = get({ patient: 'Patient/p1' }, { level: 'patient', prefer: LENIENT });
    assert.equal(request.patients, undefined);
    assert.deepEqual(request.warnings, [
      {
        parameter: 'patient',
        message:
          'Parameter patient is accepted only in a POST Parameters body; ignored (Prefer: handling=lenient)',
      },
    ]);
  });
});

describe('parseKickoff includeAssociatedData', () => {
  it('accepts both Provenance values, repeated or comma-joined, without duplicates', () => {
    const values = ['LatestProvenanceResources', 'RelevantProvenanceResources'];
    assert.deepEqual(get({ includeAssociatedData: values.join(',') }).includeAssociatedData, values);
    assert.deepEqual(
      get({ includeAssociatedData: [...values, values[0] ?? ''] }).includeAssociatedData,
      values,
    );
  });

  it('rejects a custom underscore value as not supported', () => {
    assert.throws(() => get({ includeAssociatedData: '_myData' }), {
      code: NOT_SUPPORTED,
      expression: 'includeAssociatedData',
    });
  });

  it('ignores a custom underscore value with a warning under lenient handling', () => {
    const request = get({ includeAssociatedData: '_myData,LatestProvenanceResources' }, { prefer: LENIENT });
    assert.deepEqual(request.includeAssociatedData, ['LatestProvenanceResources']);
    assert.equal(request.warnings[0]?.parameter, 'includeAssociatedData');
  });

  it('rejects any other value as invalid even under lenient handling', () => {
    assert.throws(() => get({ includeAssociatedData: 'AllProvenance' }, { prefer: LENIENT }), {
      code: INVALID,
      expression: 'includeAssociatedData',
    });
  });

  it('reads valueCode and valueCoding from a POST body', () => {
    const request = post([
      { name: 'includeAssociatedData', valueCode: 'LatestProvenanceResources' },
      {
        name: 'includeAssociatedData',
        valueCoding: {
          system: 'http://hl7.org/fhir/uv/bulkdata/CodeSystem/include-associated-data',
          code: 'RelevantProvenanceResources',
        },
      },
    ]);
    assert.deepEqual(request.includeAssociatedData, [
      'LatestProvenanceResources',
      'RelevantProvenanceResources',
    ]);
  });

  it('rejects a valueCoding from another code system as invalid', () => {
    assert.throws(
      () =>
        post([
          {
            name: 'includeAssociatedData',
            valueCoding: { system: 'http://x', code: 'LatestProvenanceResources' },
          },
        ]),
      { code: INVALID, expression: 'includeAssociatedData' },
    );
  });
});

describe('parseKickoff organizeOutputBy', () => {
  it('refuses includeAssociatedData with organizeOutputBy, or drops it with a warning when lenient', () => {
    const both = { organizeOutputBy: 'Patient', includeAssociatedData: 'RelevantProvenanceResources' };
    assert.throws(() => get(both), {
      code: 'FHIRHOSE_ERR_NOT_SUPPORTED',
      expression: 'includeAssociatedData',
    });
    const lenient = get(both, { prefer: LENIENT });
    assert.deepEqual(lenient.includeAssociatedData, []);
    assert.equal(lenient.warnings[0]?.parameter, 'includeAssociatedData');
  });

  it('accepts Patient at every level', () => {
    for (const level of ['system', 'patient', 'group'] as const) {
      assert.equal(get({ organizeOutputBy: 'Patient' }, { level }).organizeOutputBy, 'Patient');
    }
  });

  it('rejects another resource type as not supported', () => {
    assert.throws(() => get({ organizeOutputBy: 'Encounter' }), {
      code: NOT_SUPPORTED,
      expression: 'organizeOutputBy',
    });
  });

  it('ignores another resource type with a warning under lenient handling', () => {
    const request = get({ organizeOutputBy: 'Encounter' }, { prefer: LENIENT });
    assert.equal(request.organizeOutputBy, undefined);
    assert.equal(request.warnings[0]?.parameter, 'organizeOutputBy');
  });

  it('rejects a value that is not a resource type as invalid', () => {
    assert.throws(() => get({ organizeOutputBy: 'patient' }, { prefer: LENIENT }), {
      code: INVALID,
      expression: 'organizeOutputBy',
    });
  });
});

describe('parseKickoff allowPartialManifests', () => {
  it('reads true and false from the query', () => {
    assert.equal(get({ allowPartialManifests: 'true' }).allowPartialManifests, true);
    assert.equal(get({ allowPartialManifests: 'false' }).allowPartialManifests, false);
  });

  it('reads valueBoolean from a POST body', () => {
    assert.equal(post([{ name: 'allowPartialManifests', valueBoolean: true }]).allowPartialManifests, true);
  });

  it('rejects any other value as invalid', () => {
    for (const value of ['yes', 'TRUE', '']) {
      assert.throws(() => get({ allowPartialManifests: value }), {
        code: INVALID,
        expression: 'allowPartialManifests',
      });
    }
  });
});

describe('parseKickoff unknown parameters', () => {
  it('rejects a parameter the IG does not define as invalid', () => {
    assert.throws(() => get({ _count: '10' }), { code: INVALID, expression: '_count', message: /_count=10/ });
  });

  it('ignores an unknown parameter with a warning under lenient handling', () => {
    assert.deepEqual(get({ foo: 'bar' }, { prefer: LENIENT }).warnings, [
      { parameter: 'foo', message: 'Parameter foo=bar is not supported; ignored (Prefer: handling=lenient)' },
    ]);
  });

  it('ignores _format and _pretty without a warning', () => {
    assert.deepEqual(get({ _format: 'json', _pretty: 'true' }).warnings, []);
  });
});

describe('parseKickoff POST body', () => {
  it('gives the same request as the equivalent GET', () => {
    const query = {
      _outputFormat: 'application/ndjson',
      _since: '2024-01-01T00:00:00Z',
      _until: '2024-02-01T00:00:00Z',
      _type: ['Patient', 'Observation'],
      _elements: 'id',
      _typeFilter: 'Observation?status=final',
      includeAssociatedData: 'LatestProvenanceResources',
      allowPartialManifests: 'true',
    };
    const fromPost = post([
      { name: '_outputFormat', valueString: 'application/ndjson' },
      { name: '_since', valueInstant: '2024-01-01T00:00:00Z' },
      { name: '_until', valueInstant: '2024-02-01T00:00:00Z' },
      { name: '_type', valueString: 'Patient' },
      { name: '_type', valueString: 'Observation' },
      { name: '_elements', valueString: 'id' },
      { name: '_typeFilter', valueString: 'Observation?status=final' },
      { name: 'includeAssociatedData', valueCode: 'LatestProvenanceResources' },
      { name: 'allowPartialManifests', valueBoolean: true },
    ]);
    assert.deepEqual(fromPost, get(query));
    const organized = post([{ name: 'organizeOutputBy', valueString: 'Patient' }]);
    assert.deepEqual(organized, get({ organizeOutputBy: 'Patient' }));
  });

  it('accepts an absent body and a Parameters without parameter as no parameters', () => {
    assert.equal(postBody(undefined).types, undefined);
    assert.equal(postBody({ resourceType: 'Parameters' }).types, undefined);
  });

  it('merges query parameters into the body parameters as repeats', () => {
    const request = post([{ name: '_type', valueString: 'Patient' }], {}, { _type: 'Observation' });
    assert.deepEqual(request.types, ['Patient', 'Observation']);
  });

  it('rejects differing values of a single-valued parameter across body and query as invalid', () => {
    assert.throws(
      () =>
        post(
          [{ name: '_since', valueInstant: '2024-01-01T00:00:00Z' }],
          {},
          { _since: '2024-01-02T00:00:00Z' },
        ),
      {
        code: INVALID,
        expression: '_since',
      },
    );
  });

  it('accepts valueDateTime with a timezone for _since', () => {
    assert.equal(
      post([{ name: '_since', valueDateTime: '2024-01-01T00:00:00Z' }]).since,
      Date.parse('2024-01-01T00:00:00Z'),
    );
    assert.throws(() => post([{ name: '_since', valueDateTime: '2024-01-01' }]), {
      code: INVALID,
      expression: '_since',
    });
  });

  it('rejects a body that is not a Parameters resource as invalid', () => {
    assert.throws(() => postBody({ resourceType: 'Patient' }), { code: INVALID, expression: 'Parameters' });
    assert.throws(() => postBody('_type=Patient'), { code: INVALID, expression: 'Parameters' });
  });

  it('rejects a parameter element that is not an array as invalid', () => {
    assert.throws(() => postBody({ resourceType: 'Parameters', parameter: { name: '_type' } }), {
      code: INVALID,
      expression: 'Parameters.parameter',
    });
  });

  it('rejects a parameter without a name as invalid', () => {
    assert.throws(() => postBody({ resourceType: 'Parameters', parameter: [{ valueString: 'Patient' }] }), {
      code: INVALID,
      expression: 'Parameters.parameter[0]',
    });
  });

  it('rejects a value of the wrong type as invalid, naming the parameter', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['_type', { valueCode: 'Patient' }],
      ['_since', { valueString: '2024-01-01T00:00:00Z' }],
      ['patient', { valueString: 'Patient/p1' }],
      ['patient', { valueReference: { identifier: { value: 'x' } } }],
      ['allowPartialManifests', { valueString: 'true' }],
      ['allowPartialManifests', { valueBoolean: 'true' }],
      ['_outputFormat', { valueString: 42 }],
      ['_type', {}],
      ['_type', { valueString: 'Patient', valueCode: 'Patient' }],
    ];
    for (const [name, value] of cases) {
      assert.throws(() => postBody({ resourceType: 'Parameters', parameter: [{ name, ...value }] }), {
        code: INVALID,
        expression: name,
      });
    }
  });

  it('rejects an unknown body parameter as invalid and ignores it under lenient handling', () => {
    const parameter = [{ name: '_minimumFileSize', valuePositiveInt: 1000 }];
    assert.throws(() => post(parameter), { code: INVALID, expression: '_minimumFileSize' });
    assert.equal(post(parameter, { prefer: LENIENT }).warnings[0]?.parameter, '_minimumFileSize');
  });
});

describe('parseKickoff Prefer handling', () => {
  it('accepts a kick-off without respond-async', () => {
    assert.equal(get({}, { prefer: [] }).lenient, false);
  });

  it('reports lenient handling and separate export status', () => {
    const request = get({}, { prefer: ['respond-async', 'handling=lenient, separate-export-status'] });
    assert.equal(request.lenient, true);
    assert.equal(request.separateExportStatus, true);
  });
});

describe('parsePrefer', () => {
  it('reads comma-separated preferences across several header values', () => {
    assert.deepEqual(parsePrefer(['respond-async, handling=lenient', 'separate-export-status']), {
      respondAsync: true,
      lenient: true,
      separateExportStatus: true,
    });
  });

  it('compares names and the handling value without regard to case', () => {
    assert.deepEqual(parsePrefer(['Respond-Async,HANDLING=Lenient']), {
      respondAsync: true,
      lenient: true,
      separateExportStatus: false,
    });
  });

  it('accepts a quoted value, spaces around = and preference parameters', () => {
    assert.equal(parsePrefer(['handling = "lenient"; foo=bar']).lenient, true);
  });

  it('keeps only the first handling preference', () => {
    assert.equal(parsePrefer(['handling=strict', 'handling=lenient']).lenient, false);
    assert.equal(parsePrefer(['handling=lenient, handling=strict']).lenient, true);
  });

  it('ignores unknown preferences and commas inside quoted values', () => {
    assert.deepEqual(parsePrefer(['return=minimal, wait=10, x="a,respond-async"']), {
      respondAsync: false,
      lenient: false,
      separateExportStatus: false,
    });
  });

  it('returns no preferences for no header', () => {
    assert.deepEqual(parsePrefer([]), { respondAsync: false, lenient: false, separateExportStatus: false });
  });
});
