import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseElements,
  projectElements,
  projectElementsRaw,
  projectElementsRawInto,
} from '../../src/fhir/index.js';
import type { ElementsSpec, FhirResource } from '../../src/fhir/index.js';
import { generateResources } from '../../src/generate/index.js';

const resources = [...generateResources({ patients: 15, seed: 5 })];
const SPECS = [
  ['status,code,subject'],
  ['id'],
  ['Patient.name', 'Observation.value[x]', 'status'],
  ['meta,text'],
  ['Observation.valueQuantity', 'Encounter.period,class'],
].map((values) => parseElements(values));

/** What the parsed path writes for a row: projected, or the row as stored when nothing is listed. */
function plain(text: string, spec: ElementsSpec): string {
  const projected = projectElements(JSON.parse(text) as FhirResource, spec);
  return projected === undefined ? text : JSON.stringify(projected);
}

/** Asserts that the byte projection equals the parsed one, or declines; returns whether it projected. */
function check(text: string, type: string, spec: ElementsSpec): boolean {
  const out = projectElementsRaw(Buffer.from(text), type, spec);
  if (out === undefined) return false;
  assert.equal(out === null ? text : out.toString('utf8'), plain(text, spec), text);
  return true;
}

describe('projectElementsRaw', () => {
  test('equals the parsed projection, byte for byte, on generated data', () => {
    let projected = 0;
    for (const spec of SPECS) {
      for (const r of resources) if (check(JSON.stringify(r), r.resourceType, spec)) projected++;
    }
    // Generated JSON is written as JSON.stringify writes it: the byte path takes every row.
    assert.equal(projected, SPECS.length * resources.length);
  });

  test('keeps the parsed order: resourceType first, meta in place or last, `_x` extensions', () => {
    const spec = parseElements(['status']);
    const text =
      '{"id":"o","status":"final","resourceType":"Observation","_status":{"id":"s"},"code":{"text":"c"},"meta":{"tag":[{"code":"t"}]},"note":[{"text":"n"}]}';
    assert.ok(check(text, 'Observation', spec));
    assert.ok(
      check('{"resourceType":"Observation","id":"o","status":"final","code":{}}', 'Observation', spec),
    );
    const out = projectElementsRaw(Buffer.from(text), 'Observation', spec)!;
    assert.match(out.toString(), /^\{"resourceType":"Observation","id":"o","status":"final","_status"/);
  });

  test('copies any JSON.stringify output, and skips what it does not keep unparsed', () => {
    const spec = parseElements(['status,valueQuantity,note']);
    const cases = [
      '{"resourceType":"Observation","id":"a","status":"fi\\"n\\\\al\\n","valueQuantity":{"value":-1.25e-7}}',
      '{"resourceType":"Observation","id":"a","status":"final","valueQuantity":{"value":12345678901234}}',
      '{"resourceType":"Observation","id":"a","note":[{"text":"é ✓ 😀 \\t"}],"meta":null}',
      '{"resourceType":"Observation","id":"a","code":{ "text" : 1.50, "x": "\\u0041" },"status":"x"}',
      '{"resourceType":"Observation","id":"a","meta":{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}]}}',
      '{"resourceType":"Observation","id":"a","valueQuantity":{"value":0,"x":[true,false,null,[],{}]}}',
    ];
    for (const text of cases.slice(0, 3).concat(cases.slice(4)))
      assert.ok(check(text, 'Observation', spec), text);
  });

  test('declines JSON that JSON.stringify would write otherwise, and rows it cannot read', () => {
    const spec = parseElements(['status,valueQuantity']);
    const declined = [
      '{"resourceType":"Observation","id":"a","status":"\\u0066inal"}',
      '{"resourceType":"Observation","id":"a","status":"a\\/b"}',
      '{"resourceType":"Observation","id":"a","valueQuantity":{"value":1.50}}',
      '{"resourceType":"Observation","id":"a","valueQuantity":{"value":1E2}}',
      '{"resourceType":"Observation","id":"a","valueQuantity":{"value":-0}}',
      '{"resourceType":"Observation","id":"a","valueQuantity":{"value":12345678901234567890}}',
      '{"resourceType":"Observation","id":"a","valueQuantity": {"value":1}}',
      '{"resourceType":"Observation","id":"a","valueQuantity":{"value": 1}}',
      '{"resourceType":"Observation", "id":"a"}',
      '{"resourceType":"Observation","id":"a","status":"x","status":"y"}',
      '{"resourceType":"Observation","id":"a","1":"x"}',
      '{"resourceType":"Observation","id":"a","__proto__":"x"}',
      '{"resourceType":"Patient","id":"a"}',
      '{"id":"a"}',
      '{}',
      '{"resourceType":"Observation","id":"a"} ',
    ];
    for (const text of declined) {
      assert.equal(projectElementsRaw(Buffer.from(text), 'Observation', spec), undefined, text);
    }
    // Non-canonical JSON in a member that is dropped does not matter.
    assert.ok(check('{"resourceType":"Observation","id":"a","note":[{"x": 1.50}]}', 'Observation', spec));
  });

  test('skips members whose strings hold brackets and escaped quotes, and declines cut-off JSON', () => {
    const spec = parseElements(['status']);
    const text =
      '{"resourceType":"Observation","id":"a","code":{"text":"}]\\"{[","coding":[{"x":"]\\\\"},[]]},"status":"final","note":[{"text":"[[{"}]}';
    assert.equal(JSON.parse(text).code.text, '}]"{[');
    assert.ok(check(text, 'Observation', spec));
    const cut = '{"resourceType":"Observation","id":"a","code":{"text":"x"},"note":[{"text":"x"}';
    assert.equal(projectElementsRaw(Buffer.from(cut), 'Observation', spec), undefined);
  });

  test('projections written into one sink follow each other, each of its own length', () => {
    const spec = parseElements(['status,code,subject']);
    let buffer = Buffer.alloc(0);
    let used = 0;
    const sink = {
      get buffer() {
        return buffer;
      },
      reserve(length: number): number {
        const grown = Buffer.alloc(used + length);
        buffer.copy(grown, 0, 0, used);
        buffer = grown;
        used += length;
        return used - length;
      },
    };
    const rows = resources.slice(0, 40);
    for (const r of rows)
      assert.equal(projectElementsRawInto(Buffer.from(JSON.stringify(r)), r.resourceType, spec, sink), true);
    const expected = rows.map((r) => plain(JSON.stringify(r), spec)).join('');
    assert.equal(buffer.toString('utf8'), expected);
  });

  test('declines, without throwing, a member holding millions of strings between two brackets', () => {
    const spec = parseElements(['status']);
    const strings = new Array<string>(6_000_000).fill('"a"').join(',');
    const text = `{"resourceType":"Observation","id":"a","note":[${strings}],"status":"final"}`;
    // Either projected right or left to the parsed path: never an exception.
    const out = projectElementsRaw(Buffer.from(text), 'Observation', spec);
    if (out !== undefined) assert.equal(out!.toString(), plain(text, spec));
  });

  test('reads keys in place: escapes, repeats of the same length, and near-special keys', () => {
    const spec = parseElements(['status,code,subject']);
    // The row has a backslash elsewhere, so keys are checked for one; "code" and "text" share a length.
    const projected = [
      '{"resourceType":"Observation","id":"a","note":[{"text":"a\\"b"}],"code":{"text":"c"},"text":{"div":"x"}}',
      '{"resourceType":"Observation","id":"a","1a":"x","_abcdefgh":1,"_status":{"id":"s"},"status":"final"}',
      '{"resourceType":"Observation","id":"a","":1,"statu":"x","statuses":"y","_code":{},"subjec":"z"}',
    ];
    for (const text of projected) assert.ok(check(text, 'Observation', spec), text);
    const declined = [
      '{"resourceType":"Observation","id":"a","note":"\\\\","sta\\\\tus":"final"}',
      '{"resourceType":"Observation","id":"a","code":{},"note":1,"code":{"text":"c"}}',
      '{"resourceType":"Observation","id":"a","":1,"":2}',
      '{"resourceType":"Observation","id":"a","0":"x"}',
      '{"resourceType":"Observation","id":"a","resourceType":"Observation"}',
    ];
    for (const text of declined) {
      assert.equal(projectElementsRaw(Buffer.from(text), 'Observation', spec), undefined, text);
    }
  });

  test('a long keep list (choice types expanded) projects as the parsed path does', () => {
    const spec = parseElements(['Observation.value[x],effective[x],component,status,code,subject']);
    for (const r of resources) check(JSON.stringify(r), r.resourceType, spec);
    const text =
      '{"resourceType":"Observation","id":"o","valueString":"v","effectivePeriod":{"start":"2020"},"note":[]}';
    assert.ok(check(text, 'Observation', spec));
    assert.match(projectElementsRaw(Buffer.from(text), 'Observation', spec)!.toString(), /valueString/);
  });

  test('answers null when the spec lists nothing for the type', () => {
    const spec = parseElements(['Observation.status']);
    assert.equal(
      projectElementsRaw(Buffer.from('{"resourceType":"Patient","id":"p"}'), 'Patient', spec),
      null,
    );
  });
});
