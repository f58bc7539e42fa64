import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJson, checkJsonLine } from '../../src/client/json-check.js';

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
  // Unicode escapes, including a surrogate pair and a lone surrogate (valid JSON text).
  '{"resourceType":"Patient","n":"\\uD83D\\uDE00 \\ud800 \\u0000 \\uFFFF"}',
  '{"resourceType":"\\u0050atient"}',
  // Numbers JSON.parse reads as Infinity or rounds: still valid text.
  '{"resourceType":"Observation","v":1e400,"w":-123456789012345678901234567890.5e-999,"z":-0}',
  // CRLF line ends: the \r is whitespace.
  '{"resourceType":"Patient"}\r',
  '\t{ "resourceType" : "Patient" , "a" : [ 1 , { } , [ ] ] }\r',
  // A repeated key: JSON.parse keeps the last value.
  '{"resourceType":"A","resourceType":"B"}',
  '{"resourceType":"A","resourceType":1}',
  '{"resourceType":1,"resourceType":"B"}',
  '{"resourceType":null}',
  '[{"resourceType":"InArray"}]',
  '"\\"\\\\"',
  '{"emoji":"😀 中文 ä"}',
  'true',
  'false',
  'null',
  '-0.0e+0',
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
  // Trailing garbage after a complete value.
  '{"resourceType":"Patient"}x',
  '{"resourceType":"Patient"},',
  '{"resourceType":"Patient"}]',
  '1 2',
  '"a" "b"',
  // A byte order mark is not JSON whitespace.
  '\uFEFF{"resourceType":"Patient"}',
  // Escapes cut short, and raw control bytes in strings.
  '{"a":"\\u12"}',
  '{"a":"\\u"}',
  '{"a":"\\',
  '{"a":"line\nbreak"}',
  '{"a":"\u0000"}',
  '{"a":"\r"}',
  '{"a":1,}',
  '{,}',
  '[,1]',
  '{"a"}',
  '{"a":}',
  '{:1}',
  '{1:1}',
  'nul',
  'truefalse',
  '+1',
  '0x10',
  'NaN',
  'Infinity',
  '1e+',
  '--1',
  '[',
  '{',
  '}',
  '"',
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

  test('checks only its range: bytes after `end` do not count, even within a string', () => {
    const text = '{"resourceType":"Patient","a":"abc"}';
    const buf = Buffer.from(`${text}xyz"}`);
    assert.equal(checkJson(buf, 0, text.length).ok, true);
    // Cut inside the last string: the quote after `end` must not close it.
    assert.equal(checkJson(buf, 0, text.length - 3).ok, false);
    assert.equal(checkJson(buf, 0, text.length + 3).ok, false);
    const shifted = Buffer.from(`xx${text}yy`);
    assert.deepEqual(checkJson(shifted, 2, 2 + text.length), {
      ok: true,
      blank: false,
      isObject: true,
      resourceType: 'Patient',
    });
  });

  test('handles deep nesting beyond its initial stack', () => {
    for (const depth of [255, 256, 257, 5000]) {
      const text = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      assert.equal(check(text).ok, reference(text).ok, `depth ${depth}`);
      assert.equal(check(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`).ok, true);
      assert.equal(check(`${'['.repeat(depth)}${']'.repeat(depth - 1)}`).ok, false);
    }
  });

  test('checkJsonLine also rejects invalid UTF-8, which JSON.parse of a decoded string accepts', () => {
    const good = Buffer.from('{"resourceType":"Patient","name":"Zoë 😀"}');
    assert.equal(checkJsonLine(good, 0, good.length).ok, true);
    const bad = [
      [0xff],
      [0xc3], // cut sequence
      [0xc0, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // UTF-8 encoded surrogate
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    ];
    for (const bytes of bad) {
      const line = Buffer.concat([
        Buffer.from('{"resourceType":"Patient","n":"ab'),
        Buffer.from(bytes),
        Buffer.from('"}'),
      ]);
      assert.equal(checkJson(line, 0, line.length).ok, true, 'the grammar alone passes');
      assert.doesNotThrow(() => JSON.parse(line.toString('utf8')));
      const r = checkJsonLine(line, 0, line.length);
      assert.deepEqual(r, { ok: false, at: 33 }, String(bytes));
    }
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

describe('checkJson resourceType', () => {
  test('is read per line, also when lines alternate between values of the same length', () => {
    const texts = ['Patient', 'Pbtient', 'Patient', 'Pati\\u0065nt', 'Patient', 'Zoë', 'Zoe', 'Zoë'];
    for (const t of texts) {
      const buf = Buffer.from(`{"resourceType":"${t}","id":"1"}`);
      const r = checkJson(buf, 0, buf.length);
      assert.equal(r.ok && r.resourceType, JSON.parse(`"${t}"`), t);
    }
  });
});
