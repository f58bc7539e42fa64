import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileTypeFilterPrechecks,
  compileTypeFilters,
  typeFilterSearchParams,
} from '../../src/fhir/index.js';
import type { FhirResource } from '../../src/fhir/index.js';
import { compileExtractor } from '../../src/fhir/search-extract.js';
import type { SearchValue } from '../../src/fhir/search-extract.js';
import { findSearchParam } from '../../src/fhir/search-param-table.js';
import { generateResources } from '../../src/generate/index.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const resources = [...generateResources({ patients: 25, seed: 11 })];
const byType = new Map<string, FhirResource[]>();
for (const r of resources) byType.set(r.resourceType, [...(byType.get(r.resourceType) ?? []), r]);

/** FHIR search escaping of a value: `\`, `,`, `|` and `$`. */
function esc(text: string): string {
  return text.replace(/[\\,|$]/g, (c) => `\\${c}`);
}

/** Search values that select `value` for a parameter of type `kind`, as a client would write them. */
function searchValuesFor(kind: string, value: SearchValue): string[] {
  const data = value.data as Record<string, unknown>;
  if (kind === 'token') {
    if (typeof value.data === 'string' || typeof value.data === 'boolean') return [esc(String(value.data))];
    const codings =
      value.type === 'CodeableConcept' ? ((data.coding as Record<string, unknown>[]) ?? []) : [data];
    const out: string[] = [];
    for (const c of codings) {
      const code = typeof c.code === 'string' ? c.code : typeof c.value === 'string' ? c.value : undefined;
      const system = typeof c.system === 'string' ? c.system : undefined;
      if (code !== undefined) out.push(esc(code));
      if (code !== undefined && system !== undefined) out.push(`${esc(system)}|${esc(code)}`);
      if (system !== undefined) out.push(`${esc(system)}|`);
    }
    return out;
  }
  if (kind === 'reference') {
    const ref = typeof value.data === 'string' ? value.data : (data.reference as string | undefined);
    return ref === undefined ? [] : [esc(ref)];
  }
  if (kind === 'string' || kind === 'uri') {
    if (typeof value.data === 'string') return [esc(value.data)];
    if (value.type === 'HumanName') {
      const given = (data.given as string[] | undefined) ?? [];
      return [given.concat(typeof data.family === 'string' ? [data.family] : []).join(' ')].filter((s) => s);
    }
  }
  return [];
}

/** Queries for a type made from its own data: each supported parameter with values some rows hold. */
function queriesFor(type: string, rows: FhirResource[]): string[] {
  const out: string[] = [];
  for (const param of typeFilterSearchParams(type)) {
    if (!['token', 'reference', 'string', 'uri'].includes(param.type)) continue;
    const def = findSearchParam(type, param.name)!;
    const extract = compileExtractor(def.expression);
    const values = new Set<string>();
    for (const row of rows.slice(0, 40)) {
      for (const v of extract(row)) for (const s of searchValuesFor(param.type, v)) values.add(s);
      if (values.size >= 4) break;
    }
    const [first, second] = [...values];
    if (first === undefined) continue;
    const mods = param.type === 'string' ? [':exact', ''] : param.type === 'token' ? ['', ':not'] : [''];
    for (const mod of mods) out.push(`${type}?${param.name}${mod}=${encodeURIComponent(first)}`);
    out.push(`${type}?${param.name}=${encodeURIComponent(`${first},nothing-like-this`)}`);
    if (second !== undefined)
      out.push(`${type}?${param.name}=${encodeURIComponent(second)}&_id=${rows[0]!.id}`);
  }
  return out;
}

/** Escapes JSON could use that JSON.stringify does not: `\/` and `\u` for the first letter of each string. */
function escapedJson(resource: FhirResource): string {
  return JSON.stringify(resource)
    .replace(/\//g, '\\/')
    .replace(/":"([a-z])/g, (_, c: string) => `":"\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

describe('compileTypeFilterPrechecks', () => {
  test('never rejects a row that matches: generated data, queries from its own values', () => {
    let rejected = 0;
    let matched = 0;
    let queries = 0;
    for (const [type, rows] of byType) {
      for (const query of queriesFor(type, rows)) {
        queries++;
        const predicate = compileTypeFilters([query], { now: NOW }).get(type)!;
        const precheck = compileTypeFilterPrechecks([query]).get(type);
        for (const row of rows) {
          const matches = predicate(row);
          if (matches) matched++;
          if (precheck === undefined) continue;
          const passes = precheck(Buffer.from(JSON.stringify(row)));
          if (!passes) rejected++;
          assert.ok(passes || !matches, `${query} rejected matching ${type}/${row.id}`);
          if (matches) assert.ok(precheck(Buffer.from(escapedJson(row))), `${query}: escaped ${row.id}`);
        }
      }
    }
    // The property would hold trivially if nothing matched or nothing was rejected.
    assert.ok(queries > 100, `${queries} queries`);
    assert.ok(matched > 1000, `${matched} matches`);
    assert.ok(rejected > 10_000, `${rejected} rejections`);
  });

  test('rejects rows without the token, reference id or exact string, on compact JSON only', () => {
    const checks = compileTypeFilterPrechecks([
      'Observation?category=laboratory',
      'Condition?subject=Patient/p-1&code=http://snomed.info/sct|44054006',
      'Patient?name:exact=Ann%20Lee',
    ]);
    const obs = checks.get('Observation')!;
    assert.equal(
      obs(Buffer.from('{"resourceType":"Observation","category":[{"coding":[{"code":"vital-signs"}]}]}')),
      false,
    );
    assert.equal(
      obs(Buffer.from('{"resourceType":"Observation","category":[{"coding":[{"code":"laboratory"}]}]}')),
      true,
    );
    // The same code behind a \u escape or with an escaped slash elsewhere cannot be ruled out.
    assert.equal(obs(Buffer.from('{"resourceType":"Observation","code":"\\u006caboratory"}')), true);
    const cond = checks.get('Condition')!;
    assert.equal(cond(Buffer.from('{"subject":{"reference":"Patient/p-1"},"code":"44054006"}')), true);
    assert.equal(cond(Buffer.from('{"subject":{"reference":"Patient/p-2"},"code":"44054006"}')), false);
    // `\/` cannot hide needles without a slash; `\u` can hide any.
    assert.equal(cond(Buffer.from('{"subject":{"reference":"Patient\\/p-1"},"code":"x"}')), false);
    assert.equal(
      cond(Buffer.from('{"subject":{"reference":"Patient\\/p-1"},"code":"4405400\\u0036"}')),
      true,
    );
    const url = compileTypeFilterPrechecks(['Condition?subject=http://x.org/Patient/p-1']).get('Condition')!;
    assert.equal(url(Buffer.from('{"subject":{"reference":"http:\\/\\/x.org\\/Patient\\/p-1"}}')), true);
    assert.equal(url(Buffer.from('{"subject":{"reference":"http://x.org/Patient/p-2"}}')), false);
    const patient = checks.get('Patient')!;
    assert.equal(patient(Buffer.from('{"name":[{"given":["Ann"],"family":"Lee"}]}')), true);
    assert.equal(patient(Buffer.from('{"name":[{"given":["Bo"],"family":"Ng"}]}')), false);
  });

  test('gives no pre-check where bytes cannot tell: dates, numbers, :missing, :not, :text, plain strings', () => {
    const none = [
      'Observation?date=ge2020-01-01',
      'Observation?value-quantity=5',
      'Observation?code:missing=true',
      'Observation?code:not=x',
      'Observation?code:text=glucose',
      'Patient?name=ann',
      'Patient?deceased=true',
      'Observation?code=a%22b',
      'Observation?code=x&date=ge2020,Observation?date=le2021',
    ];
    for (const query of none) assert.equal(compileTypeFilterPrechecks([query]).size, 0, query);
    // Codes made of digits are strings in a Coding: they are looked for as they are.
    assert.equal(compileTypeFilterPrechecks(['Condition?code=44054006']).size, 1);
    // One clause without a needle leaves the others to check.
    assert.equal(compileTypeFilterPrechecks(['Observation?code=x&date=ge2020']).size, 1);
  });

  test('ORs the queries of a type and ANDs the clauses of a query', () => {
    const check = compileTypeFilterPrechecks(['Observation?code=aa&status=final', 'Observation?code=bb']).get(
      'Observation',
    )!;
    assert.equal(check(Buffer.from('"aa","final"')), true);
    assert.equal(check(Buffer.from('"aa","draft"')), false);
    assert.equal(check(Buffer.from('"bb"')), true);
    assert.equal(check(Buffer.from('"cc","final"')), false);
  });
});
