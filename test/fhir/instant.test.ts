import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDateRange, parseInstant } from '../../src/fhir/index.js';

const INVALID = { code: 'FHIRHOSE_ERR_INVALID_REQUEST', expression: 'p' };

describe('parseInstant', () => {
  test('rejects a day the month does not have', () => {
    for (const value of ['2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2024-06-31T12:00:00+02:00']) {
      assert.throws(() => parseInstant(value, 'p'), INVALID, value);
    }
  });

  test('rejects year 0000', () => {
    assert.throws(() => parseInstant('0000-01-01T00:00:00Z', 'p'), INVALID);
  });

  test('accepts February 29th of leap years, 2000 included', () => {
    assert.equal(parseInstant('2000-02-29T00:00:00Z', 'p'), Date.UTC(2000, 1, 29));
    assert.equal(parseInstant('2024-02-29T00:00:00Z', 'p'), Date.UTC(2024, 1, 29));
    assert.throws(() => parseInstant('1900-02-29T00:00:00Z', 'p'), INVALID);
  });
});

describe('parseDateRange', () => {
  test('rejects impossible days and year 0000 at every precision', () => {
    for (const value of ['2024-02-30', '2023-02-29T10:00:00Z', '0000', '0000-01', '2024-09-31']) {
      assert.throws(() => parseDateRange(value, 'p'), INVALID, value);
    }
  });

  test('accepts the last day of each month', () => {
    assert.deepEqual(parseDateRange('2024-02-29', 'p'), {
      start: Date.UTC(2024, 1, 29),
      end: Date.UTC(2024, 2, 1),
    });
  });

  test('reads years 0001 to 0099 as such, not as 1901 to 1999', () => {
    assert.equal(parseDateRange('0001', 'p').start, Date.parse('0001-01-01T00:00:00Z'));
    assert.equal(parseDateRange('0099-12', 'p').end, Date.parse('0100-01-01T00:00:00Z'));
  });
});
