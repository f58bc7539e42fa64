import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefCollector } from '../../src/export/ref-collector.js';

// The pattern the type path used to find supporting references in text, kept here as the reference.
const PATTERN =
  /"reference":"(?:[^"]*\/)?(Practitioner|PractitionerRole|Organization|Location|Medication|Device)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^"]*)?"/g;

const viaPattern = (text: string): string[] =>
  [...new Set([...text.matchAll(PATTERN)].map((m) => `${m[1]}/${m[2]}`))].sort();

const viaCollector = (text: string): string[] => {
  const refs = new RefCollector();
  refs.scan(Buffer.from(text));
  return refs
    .take()
    .map((r) => `${r.type}/${r.id}`)
    .sort();
};

test('finds the supporting references the text pattern finds, from the bytes', () => {
  const lines = [
    '{"a":{"reference":"Practitioner/p1"},"b":[{"reference":"Organization/o-1.x"}]}',
    '{"reference":"http://example.org/fhir/Location/l9/_history/3","x":{"reference":"Patient/pt"}}',
    '{"reference":"#contained"},{"reference":"urn:uuid:0b1"},{"reference":"Medication?code=1"}',
    '{"reference":"PractitionerRole/r1"},{"reference":"Device/d1"},{"reference":"Practitioner/p1"}',
    '{"reference":"Organization/"},{"reference":"Organization/has space"},{"display":"Practitioner/no"}',
    '{"name":"Zoë","reference":"Organization/ü-not-an-id"},{"reference":"Encounter/e1"}',
  ];
  const text = lines.join('\n');
  const got = viaCollector(text);
  assert.deepEqual(got, viaPattern(text));
  assert.deepEqual(got, [
    'Device/d1',
    'Location/l9',
    'Organization/o-1.x',
    'Practitioner/p1',
    'PractitionerRole/r1',
  ]);
});

test('take hands the references over once', () => {
  const refs = new RefCollector();
  refs.scan(Buffer.from('{"reference":"Practitioner/p1"}\n{"reference":"Practitioner/p1"}'));
  assert.equal(refs.size, 1);
  assert.equal(refs.take().length, 1);
  assert.equal(refs.size, 0);
});
