import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RESOURCE_TYPES } from '../../src/fhir/index.js';
import { buildCapabilityStatement } from '../../src/server/index.js';
import { BASE, assertOutcome, fhirJson, startServer } from './setup.js';

interface ResourceEntry {
  type: string;
  interaction: { code: string }[];
  searchParam: { name: string; type: string }[];
  operation?: { name: string; definition: string }[];
}
interface Statement {
  resourceType: string;
  status: string;
  date: string;
  kind: string;
  fhirVersion: string;
  format: string[];
  software: { name: string; version?: string };
  implementation: { url: string };
  instantiates?: string[];
  rest: { mode: string; resource: ResourceEntry[]; operation?: unknown[]; security?: unknown }[];
}

const paramsOf = (s: Statement, type: string): string[] =>
  s.rest[0]?.resource.find((r) => r.type === type)?.searchParam.map((p) => p.name) ?? [];

describe('GET /metadata', () => {
  test('returns an active R4 instance CapabilityStatement for this base URL', async (t) => {
    const { app } = await startServer(t);
    const s = fhirJson<Statement>(await app.inject({ url: '/metadata' }), 200);
    assert.equal(s.resourceType, 'CapabilityStatement');
    assert.equal(s.status, 'active');
    assert.equal(s.kind, 'instance');
    assert.equal(s.fhirVersion, '4.0.1');
    assert.ok(s.format.includes('json'));
    assert.equal(s.software.name, 'fhirhose');
    assert.equal(s.implementation.url, BASE);
    assert.ok(!Number.isNaN(Date.parse(s.date)));
    assert.equal(s.rest.length, 1);
    assert.equal(s.rest[0]?.mode, 'server');
  });

  test('lists every R4 resource type with the REST interactions', async (t) => {
    const { app } = await startServer(t);
    const s = fhirJson<Statement>(await app.inject({ url: '/metadata' }), 200);
    const resources = s.rest[0]?.resource ?? [];
    assert.equal(resources.length, RESOURCE_TYPES.size);
    const patient = resources.find((r) => r.type === 'Patient');
    assert.deepEqual(patient?.interaction.map((i) => i.code).sort(), [
      'create',
      'delete',
      'read',
      'search-type',
      'update',
      'vread',
    ]);
  });

  test('advertises only the search parameters the server answers', async (t) => {
    const { app } = await startServer(t);
    const s = fhirJson<Statement>(await app.inject({ url: '/metadata' }), 200);
    assert.deepEqual(paramsOf(s, 'Patient'), ['_id', '_lastUpdated']);
    assert.deepEqual(paramsOf(s, 'Observation'), ['_id', '_lastUpdated', 'patient', 'subject']);
    assert.deepEqual(paramsOf(s, 'Group'), ['_id', '_lastUpdated', 'name', 'identifier']);
    assert.deepEqual(paramsOf(s, 'AllergyIntolerance'), ['_id', '_lastUpdated', 'patient']);
  });

  test('answers POST /metadata with 405', async (t) => {
    const { app } = await startServer(t);
    const res = await app.inject({ method: 'POST', url: '/metadata' });
    assertOutcome(res, 405, 'not-supported');
    assert.equal(res.headers.allow, 'GET, HEAD');
  });
});

describe('buildCapabilityStatement', () => {
  test('adds instantiates, operations and security from its options', () => {
    const exportOp = {
      name: 'export',
      definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
    };
    const s = buildCapabilityStatement({
      baseUrl: BASE,
      date: new Date('2024-05-01T00:00:00Z'),
      softwareVersion: '1.2.3',
      resourceTypes: ['Patient', 'Group'],
      instantiates: ['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data'],
      operations: [exportOp],
      resourceOperations: { Group: [exportOp] },
      security: { service: [{ text: 'SMART Backend Services' }] },
    }) as unknown as Statement;
    assert.equal(s.date, '2024-05-01T00:00:00.000Z');
    assert.equal(s.software.version, '1.2.3');
    assert.deepEqual(s.instantiates, ['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data']);
    assert.deepEqual(s.rest[0]?.operation, [exportOp]);
    assert.deepEqual(s.rest[0]?.security, { service: [{ text: 'SMART Backend Services' }] });
    assert.deepEqual(
      s.rest[0]?.resource.map((r) => r.type),
      ['Patient', 'Group'],
    );
    assert.deepEqual(s.rest[0]?.resource[1]?.operation, [exportOp]);
    assert.equal(s.rest[0]?.resource[0]?.operation, undefined);
  });

  test('takes its extras through buildServer', async (t) => {
    const { app } = await startServer(t, { capability: { instantiates: ['http://example.test/cs'] } });
    const s = fhirJson<Statement>(await app.inject({ url: '/metadata' }), 200);
    assert.deepEqual(s.instantiates, ['http://example.test/cs']);
  });
});
