import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_COUNT,
  parseDateComparison,
  parseSearch,
  splitValues,
} from '../../../src/server/routes/search-params.js';
import type { SearchPair } from '../../../src/server/routes/search-params.js';

const BASE = 'http://localhost/fhir';
const parse = (type: string, pairs: SearchPair[], lenient = false) =>
  parseSearch(pairs, { type, baseUrl: BASE, lenient });

describe('parseSearch', () => {
  test('defaults to 50 per page and caps _count at 1000', () => {
    assert.equal(parse('Patient', []).query.count, 50);
    assert.equal(parse('Patient', [['_count', '5000']]).query.count, MAX_COUNT);
  });

  test('keeps the cursor out of the link parameters', () => {
    const parsed = parse('Patient', [
      ['_count', '2'],
      ['_cursor', 'abc'],
    ]);
    assert.equal(parsed.query.cursor, 'abc');
    assert.deepEqual(parsed.params, [['_count', '2']]);
  });

  test('intersects repeated _id parameters and marks an empty intersection unmatchable', () => {
    const parsed = parse('Patient', [
      ['_id', 'a,b'],
      ['_id', 'b,c'],
    ]);
    assert.deepEqual(parsed.query.ids, ['b']);
    assert.equal(parsed.matchable, true);
    const none = parse('Patient', [
      ['_id', 'a'],
      ['_id', 'c'],
    ]);
    assert.equal(none.matchable, false);
  });

  test('turns patient values into Patient/id targets, ANDing repeats', () => {
    const parsed = parse('Observation', [
      ['patient', `p1,${BASE}/Patient/p2`],
      ['subject', 'Patient/p3'],
    ]);
    assert.deepEqual(parsed.query.references, [
      { param: 'patient', targets: ['Patient/p1', 'Patient/p2'] },
      { param: 'subject', targets: ['Patient/p3'] },
    ]);
  });

  test('marks a search whose only patient is on another server unmatchable', () => {
    assert.equal(parse('Observation', [['patient', 'http://elsewhere/Patient/p1']]).matchable, false);
  });

  test('ignores empty values', () => {
    const parsed = parse('Patient', [['_id', '']]);
    assert.equal(parsed.query.ids, undefined);
    assert.deepEqual(parsed.params, []);
  });

  test('refuses a repeated name, which the store cannot AND', () => {
    assert.throws(
      () =>
        parse('Group', [
          ['name', 'a'],
          ['name', 'b'],
        ]),
      { code: 'FHIRHOSE_ERR_NOT_SUPPORTED' },
    );
  });

  test('names the unknown parameter in the error, or drops it when lenient', () => {
    assert.throws(() => parse('Patient', [['gender', 'male']]), {
      code: 'FHIRHOSE_ERR_INVALID_REQUEST',
      expression: 'gender',
    });
    assert.deepEqual(parse('Patient', [['gender', 'male']], true).params, []);
  });

  test('accepts _format json and _pretty and keeps them in the links', () => {
    const parsed = parse('Patient', [
      ['_format', 'json'],
      ['_pretty', 'true'],
    ]);
    assert.deepEqual(parsed.params, [
      ['_format', 'json'],
      ['_pretty', 'true'],
    ]);
    assert.throws(() => parse('Patient', [['_format', 'xml']]), { code: 'FHIRHOSE_ERR_NOT_SUPPORTED' });
  });
});

describe('parseDateComparison', () => {
  test('reads the prefix and the range the date denotes', () => {
    assert.deepEqual(parseDateComparison('ge2024-02'), {
      prefix: 'ge',
      start: Date.UTC(2024, 1, 1),
      end: Date.UTC(2024, 2, 1),
    });
    assert.equal(parseDateComparison('2024').prefix, 'eq');
  });
});

describe('splitValues', () => {
  test('splits on unescaped commas and unescapes them', () => {
    assert.deepEqual(splitValues('a,b\\,c,d\\\\'), ['a', 'b,c', 'd\\']);
  });
});
