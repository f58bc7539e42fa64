import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { FhirhoseError } from '../../src/fhir/index.js';
import { createViewRunner } from '../../src/views/index.js';

// Runs from dist/test/views/, so the vendored suite is three levels up, under test/ (not compiled).
const SUITE = new URL('../../../test/views/sql-on-fhir-v2/', import.meta.url);

interface SuiteCase {
  title: string;
  tags?: string[];
  view: unknown;
  expect?: Record<string, unknown>[];
  expectCount?: number;
  expectError?: boolean;
  expectColumns?: string[];
}

interface SuiteFile {
  title: string;
  resources: unknown[];
  tests: SuiteCase[];
}

const DECIMAL_TEXT =
  'JSON.parse reads 1.0 as 1, so the precision the boundary depends on is gone before FHIRPath runs';
const DATETIME_ZONE =
  'fhirpath.js gives the boundary of a dateTime without a time zone without one; the suite wants +14:00 / -12:00';

/**
 * Experimental cases we know fail, with the reason. A case listed here that starts passing fails the
 * test, so the list cannot go stale.
 */
const KNOWN_EXPERIMENTAL_FAILURES: Record<string, string> = {
  'fn_boundary.json decimal lowBoundary': DECIMAL_TEXT,
  'fn_boundary.json decimal highBoundary': DECIMAL_TEXT,
  'fn_boundary.json datetime lowBoundary': DATETIME_ZONE,
  'fn_boundary.json datetime highBoundary': DATETIME_ZONE,
};

/** JSON with object keys sorted, so rows compare as values whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Runs one case; throws an AssertionError when the runner's answer differs from the suite's. */
function runCase(file: SuiteFile, c: SuiteCase): void {
  if (c.expectError) {
    assert.throws(
      () => {
        const runner = createViewRunner(c.view);
        for (const r of file.resources) runner.rows(r);
      },
      (e: unknown) => e instanceof FhirhoseError && /VIEW/.test(e.code),
    );
    return;
  }
  const runner = createViewRunner(c.view);
  const rows = file.resources.flatMap((r) => runner.rows(r));
  if (c.expectColumns) {
    assert.deepEqual(
      runner.columns.map((col) => col.name),
      c.expectColumns,
    );
    for (const row of rows) assert.deepEqual(Object.keys(row), c.expectColumns);
  }
  if (c.expectCount !== undefined) assert.equal(rows.length, c.expectCount);
  if (c.expect) {
    // The suite does not fix row order (unionAll and repeat leave it open): compare as multisets.
    assert.deepEqual(rows.map(canonical).sort(), c.expect.map(canonical).sort());
  }
}

const files = readdirSync(SUITE)
  .filter((f) => f.endsWith('.json'))
  .sort();

for (const name of files) {
  const file = JSON.parse(readFileSync(new URL(name, SUITE), 'utf8')) as SuiteFile;
  describe(`sql-on-fhir-v2 ${name}`, () => {
    for (const c of file.tests) {
      const experimental = c.tags?.includes('experimental') === true;
      const known = KNOWN_EXPERIMENTAL_FAILURES[`${name} ${c.title}`];
      test(`${name} ${c.title}`, (t) => {
        if (experimental && known !== undefined) {
          assert.throws(
            () => runCase(file, c),
            'a known experimental failure now passes: remove it from the list',
          );
          t.skip(`experimental: ${known}`);
          return;
        }
        runCase(file, c);
      });
    }
  });
}

describe('sql-on-fhir-v2 suite', () => {
  test('holds the 22 files and 134 cases of commit 49fc1ad, 123 of them shareable', () => {
    const cases = files.flatMap(
      (f) => (JSON.parse(readFileSync(new URL(f, SUITE), 'utf8')) as SuiteFile).tests,
    );
    assert.equal(files.length, 22);
    assert.equal(cases.length, 134);
    assert.equal(cases.filter((c) => c.tags?.includes('shareable')).length, 123);
  });
});
