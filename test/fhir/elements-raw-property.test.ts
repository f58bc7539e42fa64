import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseElements, projectElements, projectElementsRaw } from '../../src/fhir/index.js';
import type { ElementsSpec, FhirResource } from '../../src/fhir/index.js';
import { readdirSync } from 'node:fs';
import { dataSets, readDataSet } from '../helpers/fixtures.js';

// The byte projection against the parsed one on every resource of the data sets and on random JSON:
// whenever it projects, its bytes are JSON.stringify(projectElements(JSON.parse(row))).

const SPECS = [
  ['status,code,subject'],
  ['id'],
  ['meta,text'],
  ['Observation.value[x]', 'effective[x]', 'component,status'],
  ['Patient.name,extension,birthDate', 'Claim.item,total'],
  ['value[x],onset[x],identifier,contained'],
].map((values) => parseElements(values));
/** The bench's spec, choice types and contained resources: enough for tens of thousands of rows. */
const SET_SPECS = [SPECS[0]!, SPECS[3]!, SPECS[5]!];

/** What the parsed path writes for a row: projected, or the row as stored when nothing is listed. */
function plain(text: string, spec: ElementsSpec): string {
  const projected = projectElements(JSON.parse(text) as FhirResource, spec);
  return projected === undefined ? text : JSON.stringify(projected);
}

/** Projects the row both ways; answers whether the byte path took it. */
function agrees(text: string, type: string, spec: ElementsSpec): boolean {
  const out = projectElementsRaw(Buffer.from(text, 'utf8'), type, spec);
  if (out === undefined) return false;
  assert.equal(out === null ? text : out.toString('utf8'), plain(text, spec), text.slice(0, 200));
  return true;
}

/** A row as the store writes it: JSON.stringify of the resource with a stored meta. */
function storedRow(resource: Record<string, unknown>, n: number): string {
  const meta = { versionId: String(n), lastUpdated: '2026-01-02T03:04:05.678Z' };
  return JSON.stringify({ ...resource, meta: { ...(resource.meta as object), ...meta } });
}

/** A small seeded generator (mulberry32), so a failure repeats. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TEXTS = ['final', 'a"b', 'back\\slash', '}]{[', 'é ✓ 😀', 'line\nbreak\ttab', '', '\u0001', '/a/b/'];
const NUMBERS = [0, -1, 1.5, 80.5, 1e21, -2.5e-7, 12345678901234, 2 ** 53 + 2, 0.1 + 0.2];
const KEYS = [
  'status',
  'code',
  'subject',
  'valueQuantity',
  'valueString',
  'note',
  'text',
  'x',
  'coding',
  'id',
];

/** A random JSON value, nested up to `depth`. */
function value(next: () => number, depth: number): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const roll = next();
  if (depth <= 0 || roll < 0.35) return pick(TEXTS);
  if (roll < 0.5) return pick(NUMBERS);
  if (roll < 0.55) return pick([true, false, null]);
  if (roll < 0.75) return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth - 1));
  const out: Record<string, unknown> = {};
  for (let k = Math.floor(next() * 4); k > 0; k--) out[pick(KEYS)] = value(next, depth - 1);
  return out;
}

/** A random Observation, as the store would write it, with choice types, extensions and contained resources. */
function randomRow(next: () => number, n: number): string {
  const r: Record<string, unknown> = { resourceType: 'Observation', id: `o${n}` };
  for (const key of ['status', '_status', 'code', 'subject', 'valueQuantity', 'valueString', 'note']) {
    if (next() < 0.6) r[key] = value(next, 3);
  }
  if (next() < 0.3) r.contained = [{ resourceType: 'Patient', id: 'p', status: value(next, 2) }];
  if (next() < 0.3) r.meta = { tag: [{ code: String(value(next, 0)) }] };
  return storedRow(r, n);
}

describe('projectElementsRaw on whole data sets', () => {
  test('equals the parsed projection on every resource of each data set, as the store writes it', async () => {
    for (const set of await dataSets()) {
      const types = readdirSync(set.dir)
        .filter((f) => f.endsWith('.ndjson.gz'))
        .map((f) => f.slice(0, -'.ndjson.gz'.length));
      let projected = 0;
      let rows = 0;
      for (const type of types) {
        for (const [n, resource] of readDataSet(set, type).entries()) {
          const stored = storedRow(resource, n);
          const bytes = Buffer.from(stored, 'utf8');
          // Parsed once: projectElements leaves its input as it was.
          const parsed = JSON.parse(stored) as FhirResource;
          for (const spec of SET_SPECS) {
            rows++;
            const out = projectElementsRaw(bytes, type, spec);
            // As the store writes it, the byte path takes every row.
            assert.notEqual(out, undefined, `${set.name} ${type} row ${n} declined`);
            const expected = projectElements(parsed, spec);
            assert.equal(
              out === null ? stored : out!.toString('utf8'),
              expected ? JSON.stringify(expected) : stored,
            );
            projected++;
          }
        }
      }
      assert.ok(rows > 1000, `${set.name}: ${rows} rows`);
      assert.equal(projected, rows);
    }
  });

  test('equals the parsed projection on random rows: escapes, unicode, nesting, choices, contained', () => {
    const next = random(14);
    let projected = 0;
    for (let n = 0; n < 3000; n++) {
      const row = randomRow(next, n);
      // JSON.stringify writes `\u` only for control characters: the one thing of its output declined.
      const takes = !row.includes('\\u');
      for (const spec of SPECS) {
        const took = agrees(row, 'Observation', spec);
        if (takes) assert.ok(took, row);
        if (took) projected++;
      }
    }
    assert.ok(projected > 3000, `${projected}`);
  });

  test('equals the parsed projection, or declines, on random rows written otherwise than JSON.stringify', () => {
    const next = random(7);
    const variants = [
      (s: string) => s.replace(/":/g, '": '),
      (s: string) => s.replace(/,"/g, ', "'),
      (s: string) => s.replace(/é/g, '\\u00e9').replace(/\//g, '\\/'),
      (s: string) => s.replace(/80\.5/g, '80.50').replace(/:0([,}\]])/g, ':-0$1'),
      (s: string) => s.replace(/"status":/, '"st\\u0061tus":'),
      (s: string) =>
        s.replace(/^\{"resourceType":"Observation",(.*)\}$/, '{$1,"resourceType":"Observation"}'),
    ];
    for (let n = 0; n < 1000; n++) {
      const row = randomRow(next, n);
      for (const variant of variants) for (const spec of SPECS) agrees(variant(row), 'Observation', spec);
    }
  });
});
