import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readPreferences } from '../../src/fhir/index.js';

const read = (header: string | string[] | undefined): Record<string, string> =>
  Object.fromEntries(readPreferences(header));

describe('readPreferences', () => {
  test('reads names with and without words, in one value or several', () => {
    assert.deepEqual(read('respond-async, handling=lenient'), { 'respond-async': '', handling: 'lenient' });
    assert.deepEqual(read(['respond-async', 'return=minimal']), { 'respond-async': '', return: 'minimal' });
    assert.deepEqual(read(undefined), {});
    assert.deepEqual(read([]), {});
    assert.deepEqual(read(' , ,'), {});
  });

  test('unquotes words and does not split inside quotes', () => {
    assert.deepEqual(read('handling="lenient"'), { handling: 'lenient' });
    assert.deepEqual(read('x="a,respond-async;y=1", wait=10'), { x: 'a,respond-async;y=1', wait: '10' });
    assert.deepEqual(read('x="say \\"hi\\""'), { x: 'say "hi"' });
  });

  test('the first of a repeated preference wins, across header values too', () => {
    assert.deepEqual(read('handling=strict, handling=lenient'), { handling: 'strict' });
    assert.deepEqual(read(['handling=lenient', 'handling=strict']), { handling: 'lenient' });
    assert.deepEqual(read('handling=bogus, handling=lenient'), { handling: 'bogus' });
  });

  test('ignores spaces around names, words and separators', () => {
    assert.deepEqual(read('  handling = lenient ;  foo=bar ,  respond-async  '), {
      handling: 'lenient',
      'respond-async': '',
    });
  });

  test('lower-cases names but keeps the case of words', () => {
    assert.deepEqual(read('HANDLING=Lenient, Return=OperationOutcome'), {
      handling: 'Lenient',
      return: 'OperationOutcome',
    });
  });

  test('treats `;` parameters as parameters of the preference before them, not as preferences', () => {
    assert.deepEqual(read('return=minimal; handling=lenient'), { return: 'minimal' });
  });
});
