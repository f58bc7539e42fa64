import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_KICKOFF_LIMITS,
  KICKOFF_LIMIT_SETTINGS,
  checkKickoffLimits,
} from '../../src/export/limits.js';
import type { KickoffLimits } from '../../src/export/limits.js';
import { parseKickoff } from '../../src/export/request-parser.js';
import type { KickoffInput } from '../../src/export/types.js';
import { LimitExceededError, PATIENT_COMPARTMENT_TYPES } from '../../src/fhir/index.js';

const LIMIT_EXCEEDED = 'FHIRHOSE_ERR_LIMIT_EXCEEDED';
const SMALL: KickoffLimits = {
  maxTypeFilters: 3,
  maxFilterOrValues: 4,
  maxFilterChars: 200,
  maxTypes: 5,
  maxPatients: 2,
  maxBodyBytes: 1024,
};

function check(params: Record<string, string[]>, patients: string[] = [], limits = SMALL): void {
  checkKickoffLimits(new Map(Object.entries(params)), patients, limits);
}

/** `n` comma-separated codes `c0,c1,...`. */
function codes(n: number): string {
  return Array.from({ length: n }, (_, i) => `c${i}`).join(',');
}

describe('checkKickoffLimits', () => {
  test('accepts a request exactly at every limit', () => {
    check(
      {
        _type: ['Patient,Observation', 'Condition,Encounter,Procedure'],
        _typeFilter: ['Observation?code=a,b,c,d', 'Condition?code=x', 'Patient?gender=male'],
      },
      ['Patient/1', 'Patient/2'],
    );
  });

  test('counts _typeFilter queries across repeats and comma-joined lists', () => {
    assert.throws(
      () =>
        check({
          _typeFilter: [
            'Observation?code=a,Condition?code=b',
            'Patient?gender=male,Encounter?status=finished',
          ],
        }),
      {
        code: LIMIT_EXCEEDED,
        issueCode: 'too-costly',
        expression: '_typeFilter',
        message: '_typeFilter has 4 queries; the limit is 3 (FHIRHOSE_MAX_TYPE_FILTERS)',
        setting: 'FHIRHOSE_MAX_TYPE_FILTERS',
        limit: 3,
        actual: 4,
      },
    );
  });

  test('names the parameter with too many OR-ed values and their count', () => {
    assert.throws(() => check({ _typeFilter: ['Observation?status=final&code=a,b,c,d,e'] }), {
      code: LIMIT_EXCEEDED,
      expression: '_typeFilter',
      message: '_typeFilter has 5 OR-ed values for code; the limit is 4 (FHIRHOSE_MAX_FILTER_OR_VALUES)',
    });
  });

  test('counts OR-ed values after percent-decoding, and not escaped commas', () => {
    assert.throws(() => check({ _typeFilter: ['Observation?code=a%2Cb%2Cc,d,e'] }), {
      message: /has 5 OR-ed values for code;/,
    });
    check({ _typeFilter: ['Observation?code=a\\,b\\,c\\,d,e'] });
  });

  test('counts the characters of all filters together', () => {
    const long = `Observation?code=${'x'.repeat(100)}`;
    assert.throws(() => check({ _typeFilter: [long, long] }), {
      code: LIMIT_EXCEEDED,
      message: `_typeFilter has ${2 * long.length} characters; the limit is 200 (FHIRHOSE_MAX_FILTER_CHARS)`,
    });
  });

  test('counts _type entries across repeats and comma lists, duplicates included', () => {
    assert.throws(() => check({ _type: ['Patient,Patient,Patient', 'Observation,Observation,Condition'] }), {
      code: LIMIT_EXCEEDED,
      expression: '_type',
      message: '_type has 6 entries; the limit is 5 (FHIRHOSE_MAX_TYPES)',
    });
  });

  test('counts patient references, duplicates included', () => {
    assert.throws(() => check({}, ['Patient/1', 'Patient/1', 'Patient/2']), {
      code: LIMIT_EXCEEDED,
      expression: 'patient',
      message: 'patient has 3 references; the limit is 2 (FHIRHOSE_MAX_PATIENTS)',
    });
  });

  test('reports a 200,000-value filter by its OR-ed values, before its length', () => {
    const filter = `Observation?code=${codes(200_000)}`;
    assert.ok(filter.length > 1_000_000);
    assert.throws(() => check({ _typeFilter: [filter] }, [], DEFAULT_KICKOFF_LIMITS), {
      message:
        '_typeFilter has 200000 OR-ed values for code; the limit is 100 (FHIRHOSE_MAX_FILTER_OR_VALUES)',
    });
  });

  test('cuts a very long parameter name short in the message', () => {
    const name = 'n'.repeat(10_000);
    assert.throws(
      () => check({ _typeFilter: [`Observation?${name}=a,b,c,d,e`] }),
      (error: unknown) =>
        error instanceof LimitExceededError && error.message.length < 300 && error.message.includes('nnn...'),
    );
  });

  test('names a setting for every limit', () => {
    assert.deepEqual(Object.keys(KICKOFF_LIMIT_SETTINGS).sort(), Object.keys(DEFAULT_KICKOFF_LIMITS).sort());
    for (const setting of Object.values(KICKOFF_LIMIT_SETTINGS))
      assert.match(setting, /^FHIRHOSE_MAX_[A-Z_]+$/);
  });
});

describe('parseKickoff limits', () => {
  const OPTIONS = { exportableTypes: PATIENT_COMPARTMENT_TYPES, now: Date.UTC(2025, 0, 1), limits: SMALL };
  const LENIENT = ['respond-async, handling=lenient'];

  function post(parameter: unknown[], prefer: string[] = []) {
    const input: KickoffInput = {
      level: 'patient',
      method: 'POST',
      query: {},
      body: { resourceType: 'Parameters', parameter },
      prefer,
      requestUrl: 'https://x.test/fhir/Patient/$export',
    };
    return parseKickoff(input, OPTIONS);
  }

  test('refuses a request over a limit under lenient handling too', () => {
    const patients = ['1', '2', '3'].map((id) => ({
      name: 'patient',
      valueReference: { reference: `Patient/${id}` },
    }));
    for (const prefer of [[], LENIENT]) {
      assert.throws(() => post(patients, prefer), { code: LIMIT_EXCEEDED, expression: 'patient' });
    }
  });

  test('checks the limits before parsing any value', () => {
    // An unknown filter parameter would be a NotSupportedError; the limit is found first.
    const filter = { name: '_typeFilter', valueString: 'Observation?nonsense=a,b,c,d,e' };
    assert.throws(() => post([filter]), { code: LIMIT_EXCEEDED, expression: '_typeFilter' });
  });

  test('merges query values with body values before counting', () => {
    const input: KickoffInput = {
      level: 'system',
      method: 'POST',
      query: { _type: 'Patient,Observation,Condition' },
      body: {
        resourceType: 'Parameters',
        parameter: [{ name: '_type', valueString: 'Encounter,Procedure,Device' }],
      },
      prefer: [],
      requestUrl: 'https://x.test/fhir/$export',
    };
    assert.throws(() => parseKickoff(input, OPTIONS), {
      code: LIMIT_EXCEEDED,
      message: /_type has 6 entries/,
    });
  });

  test('applies the default limits when none are given', () => {
    const input: KickoffInput = {
      level: 'system',
      method: 'GET',
      query: { _type: Array.from({ length: 201 }, () => 'Patient') },
      prefer: [],
      requestUrl: 'https://x.test/fhir/$export',
    };
    assert.throws(() => parseKickoff(input, { exportableTypes: PATIENT_COMPARTMENT_TYPES }), {
      code: LIMIT_EXCEEDED,
      message: '_type has 201 entries; the limit is 200 (FHIRHOSE_MAX_TYPES)',
    });
  });
});
