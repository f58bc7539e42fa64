import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLineShape } from '../../src/client/line-check.js';

/** What JSON.parse says about a text: invalid, or valid with the top-level resourceType string. */
function reference(text: string): { ok: boolean; resource: boolean; resourceType?: string } {
  try {
    const v = JSON.parse(text) as unknown;
    const rt = (v as { resourceType?: unknown } | null)?.resourceType;
    const isObject = typeof v === 'object' && v !== null && !Array.isArray(v);
    return isObject && typeof rt === 'string'
      ? { ok: true, resource: true, resourceType: rt }
      : { ok: true, resource: false };
  } catch {
    return { ok: false, resource: false };
  }
}

function shape(text: string): { ok: boolean; resource: boolean; resourceType?: string } {
  const buf = Buffer.from(text);
  const r = checkLineShape(buf, 0, buf.length);
  if (!r.ok) return { ok: false, resource: false };
  return r.isObject && r.resourceType !== undefined
    ? { ok: true, resource: true, resourceType: r.resourceType }
    : { ok: true, resource: false };
}

const RESOURCES = [
  '{"resourceType":"Patient","id":"a","name":[{"family":"Zoë 😀"}]}',
  '  { "resourceType" : "Observation" , "v" : 1 }\r',
  '{"id":"a","resourceType":"Encounter"}',
  '{"resourceType":"Pati\\u0065nt"}',
  '{"a":{"resourceType":"Nested"},"resourceType":"Outer"}',
  '{"resourceType":"Ünïcode"}',
];

describe('checkLineShape', () => {
  test('reads the type of a resource line wherever its resourceType key is', () => {
    for (const text of RESOURCES) assert.deepEqual(shape(text), reference(text), text);
  });

  test('reports a blank line as blank', () => {
    const r = checkLineShape(Buffer.from(' \t\r'), 0, 3);
    assert.deepEqual(r, { ok: true, blank: true, isObject: false, resourceType: undefined });
  });

  test('rejects lines that are not objects, or are cut short', () => {
    for (const text of ['[1,2]', '"text"', '0', 'not json', '{"resourceType":"Pa', '{"resourceType":', '{']) {
      assert.equal(shape(text).resource, false, text);
    }
    assert.equal(shape('{"resourceType":').ok, false);
    assert.equal(shape('[1,2]').ok, true, 'valid JSON, but no resource');
  });

  test('checks only its range', () => {
    const text = '{"resourceType":"Patient"}';
    const buf = Buffer.from(`xx${text}yy"}`);
    assert.deepEqual(checkLineShape(buf, 2, 2 + text.length), {
      ok: true,
      blank: false,
      isObject: true,
      resourceType: 'Patient',
    });
    assert.equal(checkLineShape(buf, 2, 2 + text.length - 1).ok, false);
  });

  test('checks the shape, not the grammar, when the type comes first', () => {
    // What `verify: 'lines'` gives up for speed: a broken value inside a well-shaped line.
    const text = '{"resourceType":"Patient","a":[1,}';
    assert.equal(reference(text).ok, false);
    assert.deepEqual(shape(text), { ok: true, resource: true, resourceType: 'Patient' });
  });

  test('never rejects a line JSON.parse reads as a resource, over thousands of mutated lines', () => {
    let seed = 11;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = '{}[]",:\\ 0123456789-.eErtuRsoyp\tP';
    for (let k = 0; k < 20_000; k++) {
      const chars = [...(RESOURCES[k % RESOURCES.length] as string)];
      for (let m = 0; m <= k % 3; m++)
        chars[random(chars.length)] = alphabet[random(alphabet.length)] as string;
      const text = chars.join('');
      const want = reference(text);
      const got = shape(text);
      if (want.resource) assert.equal(got.resource, true, text);
      // A type is read from the bytes, never guessed: where both see one, they agree, but for a
      // repeated key (JSON.parse keeps the last, the shape check reads the first).
      if (want.resource && got.resource && (text.match(/"resourceType"/g) ?? []).length === 1)
        assert.equal(got.resourceType, want.resourceType, text);
      if (!got.ok) assert.equal(want.ok, false, text);
    }
  });
});
