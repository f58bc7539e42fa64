import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError } from '../../src/fhir/index.js';
import {
  CorruptJobError,
  JOB_SCHEMA_VERSION,
  decodeExportRequest,
  decodeUnit,
  decodeUnitCheckpoint,
  decodeUnitResult,
  decodeUnitSpec,
  encodeExportRequest,
  encodeUnitCheckpoint,
  encodeUnitResult,
  encodeUnitSpec,
} from '../../src/export/job-codec.js';
import type { ExportRequest } from '../../src/export/types.js';
import type { UnitCheckpoint, UnitResult, UnitSpec } from '../../src/export/unit-spec.js';
import type { UnitRecord } from '../../src/store/index.js';
import { SYSTEM_REQUEST } from '../helpers/engine.js';

const KEY = { lastUpdated: 1_700_000_000_000, id: 'p9' };

const REQUEST: ExportRequest = {
  ...SYSTEM_REQUEST,
  level: 'group',
  groupId: 'g1',
  since: 1_600_000_000_000,
  types: ['Patient', 'Observation'],
  typeFilters: ['Observation?status=final'],
  elements: ['id'],
  patients: ['p1'],
  warnings: [{ parameter: '_type', message: 'Foo is not a resource type', issueCode: 'not-supported' }],
  view: {
    views: [{ name: 'patients', resource: 'Patient', definition: { resourceType: 'ViewDefinition' } }],
    format: 'csv',
    header: true,
    byPatients: false,
  },
};

/** One spec of every kind, with every optional field somewhere. */
const SPECS: UnitSpec[] = [
  { kind: 'plan' },
  { kind: 'resources', type: 'Patient', after: KEY, upTo: { lastUpdated: KEY.lastUpdated + 1, id: 'a' } },
  { kind: 'members', patients: ['p1', 'p2'], types: ['Patient', 'Observation'] },
  { kind: 'members', patients: ['p3'], types: ['Observation', 'Provenance'], provenance: true },
  { kind: 'supporting', type: 'Practitioner' },
  { kind: 'blocks', patients: ['p1'], types: ['Patient'] },
  { kind: 'provenance', mode: 'latest', targetTypes: ['Observation'], after: KEY },
  { kind: 'deleted', type: 'Observation' },
  { kind: 'warnings' },
  { kind: 'view', view: 0, type: 'Patient', patients: ['p1'], first: true },
];

const CHECKPOINT: UnitCheckpoint = {
  segment: 2,
  after: KEY,
  afterPatient: 'p7',
  files: [{ kind: 'output', type: 'Patient', name: '3.Patient.1.ndjson', count: 10, bytes: 999 }],
};

const RESULT: UnitResult = {
  files: [
    {
      kind: 'output',
      type: '',
      name: '4.blocks.1.ndjson',
      count: 2,
      bytes: 50,
      continuesIn: '4.blocks.2.ndjson',
    },
    {
      kind: 'error',
      type: 'OperationOutcome',
      name: '4.error-OperationOutcome.1.ndjson',
      count: 1,
      bytes: 80,
    },
  ],
};

/** Asserts `fn` throws a CorruptJobError whose message matches `message`. */
function assertCorrupt(fn: () => unknown, message: RegExp, expression?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CorruptJobError);
    assert.equal(err.code, 'FHIRHOSE_ERR_CORRUPT_JOB');
    assert.equal(err.issueCode, 'exception');
    assert.match(err.message, message);
    if (expression !== undefined) assert.equal(err.expression, expression);
    return true;
  });
}

/** A stored text with one field replaced (or removed, with undefined). */
function withField(encoded: string, key: string, value: unknown): string {
  return JSON.stringify({ ...(JSON.parse(encoded) as object), [key]: value });
}

describe('job codec', () => {
  test('writes the schema version into every value it encodes', () => {
    for (const text of [
      encodeExportRequest(REQUEST),
      encodeUnitSpec(SPECS[0]!),
      encodeUnitCheckpoint(CHECKPOINT),
      encodeUnitResult(RESULT),
    ]) {
      assert.equal((JSON.parse(text) as { v: unknown }).v, JOB_SCHEMA_VERSION);
    }
  });

  test('decodes what it encodes, without the version field', () => {
    assert.deepEqual(decodeExportRequest(encodeExportRequest(REQUEST)), REQUEST);
    assert.deepEqual(decodeExportRequest(encodeExportRequest(SYSTEM_REQUEST)), SYSTEM_REQUEST);
    for (const spec of SPECS) assert.deepEqual(decodeUnitSpec(encodeUnitSpec(spec)), spec);
    assert.deepEqual(decodeUnitCheckpoint(encodeUnitCheckpoint(CHECKPOINT)), CHECKPOINT);
    assert.deepEqual(decodeUnitResult(encodeUnitResult(RESULT)), RESULT);
  });

  test('decodes the rows of the previous release, which carry no version, to the same values', () => {
    assert.deepEqual(decodeExportRequest(JSON.stringify(REQUEST)), REQUEST);
    for (const spec of SPECS) assert.deepEqual(decodeUnitSpec(JSON.stringify(spec)), spec);
    assert.deepEqual(decodeUnitCheckpoint(JSON.stringify(CHECKPOINT)), CHECKPOINT);
    assert.deepEqual(decodeUnitResult(JSON.stringify(RESULT)), RESULT);
  });

  test('decodeUnit decodes a unit record once: its spec, and its checkpoint when it has one', () => {
    const unit = { spec: encodeUnitSpec(SPECS[1]!), checkpoint: null } as UnitRecord;
    assert.deepEqual(decodeUnit(unit), { spec: SPECS[1], checkpoint: undefined });
    const resumed = { ...unit, checkpoint: JSON.stringify(CHECKPOINT) };
    assert.deepEqual(decodeUnit(resumed), { spec: SPECS[1], checkpoint: CHECKPOINT });
    assertCorrupt(() => decodeUnit({ ...unit, checkpoint: '{"segment":1}' }), /unit checkpoint.*files/);
  });

  test('refuses text that is not a JSON object as a corrupt job, a StoreError', () => {
    assertCorrupt(() => decodeUnitSpec('{"kind":"resou'), /^the stored unit spec is not JSON$/);
    assertCorrupt(() => decodeUnitSpec(''), /not JSON/);
    assertCorrupt(() => decodeExportRequest('null'), /^the stored request is not a JSON object$/);
    assertCorrupt(() => decodeUnitResult('[]'), /not a JSON object/);
    assert.ok(new CorruptJobError('x') instanceof StoreError);
    assert.equal(new CorruptJobError('x').retryable, false);
  });

  test('refuses a value written by a newer schema version, naming both versions', () => {
    const newer = withField(encodeUnitSpec({ kind: 'plan' }), 'v', JOB_SCHEMA_VERSION + 1);
    assertCorrupt(
      () => decodeUnitSpec(newer),
      new RegExp(
        `schema version ${JOB_SCHEMA_VERSION + 1}, written by a newer release; this one reads up to ${JOB_SCHEMA_VERSION}`,
      ),
      'v',
    );
    assertCorrupt(() => decodeUnitResult('{"v":"1","files":[]}'), /invalid schema version/, 'v');
  });

  test('refuses a unit spec of no known kind, or with a field of the wrong type, naming the field', () => {
    assertCorrupt(() => decodeUnitSpec('{"kind":"everything"}'), /kind is not a unit kind/, 'kind');
    assertCorrupt(() => decodeUnitSpec('{}'), /kind is not a unit kind/);
    assertCorrupt(() => decodeUnitSpec('{"kind":"resources"}'), /type is not a string/, 'type');
    assertCorrupt(
      () => decodeUnitSpec('{"kind":"blocks","types":["Patient"]}'),
      /patients is not a list/,
      'patients',
    );
    assertCorrupt(
      () => decodeUnitSpec('{"kind":"members","patients":["p1"],"types":[],"provenance":"yes"}'),
      /provenance is not true or absent/,
      'provenance',
    );
    assertCorrupt(
      () => decodeUnitSpec('{"kind":"members","patients":["p1",2],"types":[]}'),
      /patients\[1\] is not a string/,
      'patients[1]',
    );
    assertCorrupt(
      () => decodeUnitSpec('{"kind":"resources","type":"Patient","after":{"id":"p1"}}'),
      /after is not a scan key/,
    );
    assertCorrupt(
      () => decodeUnitSpec('{"kind":"provenance","mode":"all","targetTypes":[]}'),
      /mode is not relevant or latest/,
    );
    assertCorrupt(
      () => decodeUnitSpec('{"kind":"view","view":-1,"type":"Patient"}'),
      /view is not a view index/,
    );
    assertCorrupt(
      () => decodeUnitSpec('{"kind":"view","view":0,"type":"Patient","first":false}'),
      /first is not true/,
    );
  });

  test('refuses a request, checkpoint or result missing what its readers use', () => {
    const request = encodeExportRequest(SYSTEM_REQUEST);
    assertCorrupt(
      () => decodeExportRequest(withField(request, 'level', 'world')),
      /level is not an export level/,
    );
    assertCorrupt(
      () => decodeExportRequest(withField(request, 'typeFilters', undefined)),
      /typeFilters is not a list/,
    );
    assertCorrupt(() => decodeExportRequest(withField(request, 'since', '2020')), /since is not a number/);
    assertCorrupt(
      () => decodeExportRequest(withField(request, 'lenient', 'yes')),
      /lenient is not a boolean/,
    );
    assertCorrupt(
      () => decodeExportRequest(withField(request, 'warnings', [{}])),
      /warnings\[0\] is not a warning/,
    );
    assertCorrupt(
      () => decodeExportRequest(withField(request, 'view', { views: 1 })),
      /view is not the views/,
    );
    const checkpoint = encodeUnitCheckpoint(CHECKPOINT);
    assertCorrupt(
      () => decodeUnitCheckpoint(withField(checkpoint, 'segment', 1.5)),
      /segment is not an integer/,
    );
    assertCorrupt(
      () =>
        decodeUnitResult('{"files":[{"kind":"output","type":"Patient","name":"x","count":"1","bytes":1}]}'),
      /files\[0\] is not a unit file/,
      'files[0]',
    );
    assertCorrupt(
      () => decodeUnitResult('{"files":[{"kind":"other","type":"","name":"x","count":1,"bytes":1}]}'),
      /files\[0\] is not a unit file/,
    );
  });
});
