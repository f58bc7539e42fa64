import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference } from '../../src/fhir/index.js';

describe('parseReference', () => {
  it('parses a relative Type/id reference', () => {
    assert.deepEqual(parseReference('Patient/123'), { type: 'Patient', id: '123' });
  });

  it('drops the version of a relative _history reference', () => {
    assert.deepEqual(parseReference('Observation/a.b-c/_history/7'), { type: 'Observation', id: 'a.b-c' });
  });

  it('parses an absolute URL by its Type/id tail', () => {
    assert.deepEqual(parseReference('https://example.org/fhir/R4/Patient/p1'), { type: 'Patient', id: 'p1' });
    assert.deepEqual(parseReference('http://example.org/Patient/p1'), { type: 'Patient', id: 'p1' });
  });

  it('parses an absolute URL with a _history suffix', () => {
    assert.deepEqual(parseReference('http://example.org:8080/fhir/Encounter/e1/_history/2'), {
      type: 'Encounter',
      id: 'e1',
    });
  });

  it('returns only the id of a urn:uuid reference', () => {
    const uuid = '3b1a9cb0-e3d3-4bce-8b20-864c3dc7e8c0';
    assert.deepEqual(parseReference(`urn:uuid:${uuid}`), { id: uuid });
  });

  it('rejects a urn:uuid that is not a uuid', () => {
    assert.equal(parseReference('urn:uuid:not-a-uuid'), undefined);
    assert.equal(parseReference('urn:uuid:'), undefined);
  });

  it('rejects contained and conditional references', () => {
    assert.equal(parseReference('#contained'), undefined);
    assert.equal(parseReference('Patient/1#x'), undefined);
    assert.equal(parseReference('Patient?identifier=http://x|1'), undefined);
    assert.equal(parseReference('http://example.org/Patient/1?x=1'), undefined);
  });

  it('rejects unknown types, bad ids and malformed shapes', () => {
    for (const ref of [
      '',
      'Patient',
      'Patient/',
      '/Patient/1',
      'Patient/1/',
      'patient/1',
      'Foo/1',
      'Patient/a b',
      `Patient/${'x'.repeat(65)}`,
      'Patient/1/_history',
      'Patient/1/_history/',
      'Patient/1/history/2',
      'Patient/1/Encounter/2',
      'urn:oid:1.2.3',
      'http://example.org',
      'http://example.org/',
      'http://example.org/Patient',
      'http://example.org/fhir/Patient/_history/2',
      'ftp://example.org/Patient/1',
      'http:///Patient/1',
      ' Patient/1',
    ]) {
      assert.equal(parseReference(ref), undefined, ref);
    }
  });
});
