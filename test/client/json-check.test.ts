import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJson } from '../../src/client/json-check.js';

/** What JSON.parse says about a text: invalid, or valid with the top-level resourceType string. */
function reference(text: string): { ok: boolean; resourceType?: string } {
  try {
    const v = JSON.parse(text) as unknown;
    const rt = (v as { resourceType?: unknown } | null)?.resourceType;
    const isObject = typeof v === 'object' && v !== null && !Array.isArray(v);
    return isObject && typeof rt === 'string' ? { ok: true, resourceType: rt } : { ok: true };
  } catch {
    return { ok: false };
  }
}

function check(text: string): { ok: boolean; resourceType?: string } {
  const buf = Buffer.from(text);
  const r = checkJson(buf, 0, buf.length);
  if (!r.ok) return { ok: false };
  return r.isObject && r.resourceType !== undefined
    ? { ok: true, resourceType: r.resourceType }
    : { ok: true };
}

const VALID = [
  '{"resourceType":"Patient","id":"a","active":true,"x":null,"n":[0,-1,2.5,1e3,-0.5E-2,{"y":"\\u00e9\\n\\"\\\\\\/"}]}',
  ' {"a":{"resourceType":"Nested"},"resourceType":"Outer"} ',
  '{"resourceType":"Pati\\u0065nt"}',
  '[]',
  '{}',
  '"text"',
  '0',
  '[[[{}]]]',
  '{"resourceType":"Ünïcode","name":"Zoë"}',
];

const INVALID = [
  '{"resourceType":"Patient",}',
  '[1,]',
  '{"a" 1}',
  '{"a":01}',
  '{"a":1.}',
  '{"a":.5}',
  '{"a":1e}',
  '{"a":tru}',
  '{"a":"\\x"}',
  '{"a":"\\u12G4"}',
  '{"a":"raw\ttab"}',
  '{"a":1}}',
  '{"a":1} {"b":2}',
  '{"a":[1,2}',
  '{"a":"unterminated}',
  "{'a':1}",
  '-',
];

describe('checkJson', () => {
  test('accepts what JSON.parse accepts and reads the top-level resourceType', () => {
    for (const text of VALID) assert.deepEqual(check(text), reference(text), text);
  });

  test('rejects what JSON.parse rejects', () => {
    for (const text of INVALID) {
      assert.equal(reference(text).ok, false, `JSON.parse accepts ${text}`);
      assert.equal(check(text).ok, false, text);
    }
  });

  test('reports a blank range as blank', () => {
    const r = checkJson(Buffer.from('  \r'), 0, 3);
    assert.deepEqual(r, { ok: true, blank: true, isObject: false, resourceType: undefined });
  });

  test('agrees with JSON.parse on thousands of mutated resources', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = '{}[]",:\\ 0123456789-+.eEtrufalsn\tabu';
    for (let k = 0; k < 20_000; k++) {
      const chars = [...(VALID[k % VALID.length] as string)];
      for (let m = 0; m <= k % 3; m++)
        chars[random(chars.length)] = alphabet[random(alphabet.length)] as string;
      const text = chars.join('');
      if (text.trim() === '') continue;
      assert.deepEqual(check(text), reference(text), text);
    }
  });
});
