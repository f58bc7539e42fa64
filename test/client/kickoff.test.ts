import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildKickoff } from '../../src/client/index.js';

describe('buildKickoff', () => {
  test('a system GET joins lists with commas and repeats _typeFilter', () => {
    const call = buildKickoff('http://x/fhir/', {
      level: 'system',
      params: {
        type: ['Patient', 'Observation'],
        since: '2024-01-01T00:00:00Z',
        typeFilter: ['Observation?status=final', 'Observation?category=laboratory'],
        outputFormat: 'ndjson',
      },
    });
    assert.equal(call.method, 'GET');
    const url = new URL(call.url);
    assert.equal(url.pathname, '/fhir/$export');
    assert.equal(url.searchParams.get('_type'), 'Patient,Observation');
    assert.deepEqual(url.searchParams.getAll('_typeFilter'), [
      'Observation?status=final',
      'Observation?category=laboratory',
    ]);
    assert.equal(call.headers.prefer, 'respond-async');
    assert.equal(call.headers.accept, 'application/fhir+json');
  });

  test('patient makes a POST with a Parameters body of typed values', () => {
    const call = buildKickoff('http://x/fhir', {
      level: 'group',
      groupId: 'g1',
      lenient: true,
      params: {
        patient: ['p1', 'Patient/p2'],
        type: ['Patient'],
        since: '2024-01-01T00:00:00Z',
        allowPartialManifests: true,
      },
    });
    assert.equal(call.method, 'POST');
    assert.equal(call.url, 'http://x/fhir/Group/g1/$export');
    assert.equal(call.headers.prefer, 'respond-async, handling=lenient');
    assert.deepEqual(JSON.parse(call.body as string), {
      resourceType: 'Parameters',
      parameter: [
        { name: '_since', valueInstant: '2024-01-01T00:00:00Z' },
        { name: '_type', valueString: 'Patient' },
        { name: 'patient', valueReference: { reference: 'Patient/p1' } },
        { name: 'patient', valueReference: { reference: 'Patient/p2' } },
        { name: 'allowPartialManifests', valueBoolean: true },
      ],
    });
  });

  test('refuses patient on a GET', () => {
    assert.throws(
      () => buildKickoff('http://x', { level: 'patient', method: 'GET', params: { patient: ['p1'] } }),
      TypeError,
    );
  });
});
