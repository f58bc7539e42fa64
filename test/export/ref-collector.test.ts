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

test('output pieces that name no supporting type are skipped, and the rest still found', () => {
  // Several 64 KiB pieces: only one line names a supporting resource, another names the type
  // outside a reference, and an Observation-like body fills the rest.
  const body = (i: number): string =>
    `{"resourceType":"Observation","id":"o${i}","subject":{"reference":"Patient/p${i % 50}"},` +
    `"encounter":{"reference":"Encounter/e${i}"},"valueString":"${'v'.repeat(i % 300)}"}`;
  const lines = Array.from({ length: 2000 }, (_, i) => body(i));
  lines[700] = `{"resourceType":"Encounter","id":"e1","serviceProvider":{"reference":"Organization/org-7"}}`;
  lines[1500] = `{"resourceType":"Observation","id":"x","note":[{"text":"see Device/d2 and Location/"}]}`;
  lines[1999] = `{"performer":[{"reference":"https://h.example/fhir/PractitionerRole/r3/_history/1"}]}`;
  const text = lines.join('\n');
  assert.ok(text.length > 3 * 64 * 1024);
  const got = viaCollector(text);
  assert.deepEqual(got, viaPattern(text));
  assert.deepEqual(got, ['Organization/org-7', 'PractitionerRole/r3']);
});

test('odd reference strings give what the pattern over the whole text gives', () => {
  const id64 = 'a'.repeat(64);
  const lines = [
    'Organization/o0 at the very start',
    '{"reference":"Organization/Practitioner/p2"},{"reference":"Location/l1/_history/Device/d9"}',
    '{"reference":"Organization/o3/_history/2\\"Practitioner/p4"},{"x":"a\\"Location/l5"}',
    '{"reference":"a\\"b/Organization/o6"},{"reference":"x/y/Medication/m7"}',
    `{"reference":"Device/${id64}"},{"reference":"Device/${id64}b"},{"reference":"Device/d.8-"}`,
    '{"reference":{"reference":"Location/l9"}},{"notreference":"Location/l10"},{"reference": "Location/l11"}',
    '{"reference":"PractitionerRole/Practitioner/"},{"reference":"Medication/m12/"}',
    '{"reference":"Location/l13"}{"reference":"Location/l14',
  ];
  const text = lines.join('\n');
  const got = viaCollector(text);
  assert.deepEqual(got, viaPattern(text));
  assert.ok(got.includes('Practitioner/p2') && got.includes('Location/l9') && got.includes('Medication/m7'));
});

test('scanText on each row finds what scan finds on the rows as NDJSON bytes', () => {
  const rows = [
    '{"name":"Zoë","a":{"reference":"Practitioner/p1"},"b":{"reference":"Organization/ü-not-an-id"}}',
    '{"reference":"https://h.example/fhir/Location/l9/_history/3"},{"reference":"Patient/pt"}',
    '{"reference":"#c"},{"reference":"Medication/m.1"},{"display":"Device/no"}',
  ];
  const byRow = new RefCollector();
  for (const row of rows) byRow.scanText(row);
  const keys = (r: RefCollector): string[] =>
    r
      .take()
      .map((x) => `${x.type}/${x.id}`)
      .sort();
  assert.deepEqual(keys(byRow), viaCollector(rows.join('\n')));
  for (const row of rows) byRow.scanText(row);
  assert.deepEqual(keys(byRow), ['Location/l9', 'Medication/m.1', 'Practitioner/p1']);
});
