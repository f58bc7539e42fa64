import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrefer as parseKickoffPrefer } from '../../src/export/prefer.js';
import { parsePrefer } from '../../src/server/http-headers.js';

describe('server parsePrefer', () => {
  test('reads handling case-insensitively and return exactly', () => {
    assert.deepEqual(parsePrefer('HANDLING=Lenient, return=OperationOutcome'), {
      handling: 'lenient',
      return: 'OperationOutcome',
    });
    assert.deepEqual(parsePrefer('return=operationoutcome, handling=sloppy'), {});
    assert.deepEqual(parsePrefer(undefined), {});
  });

  test('the first handling wins, as in the kick-off parser', () => {
    for (const header of [
      ['handling=strict, handling=lenient'],
      ['handling=lenient', 'handling=strict'],
      ['handling="lenient", handling=strict'],
      ['x="handling=strict", handling=lenient'],
    ]) {
      const server = parsePrefer(header).handling === 'lenient';
      assert.equal(server, parseKickoffPrefer(header).lenient, header.join(' | '));
    }
    assert.equal(parsePrefer(['handling=strict', 'handling=lenient']).handling, 'strict');
  });

  test('honours quotes', () => {
    assert.deepEqual(parsePrefer('return="minimal", x="a,handling=lenient"'), { return: 'minimal' });
  });
});
