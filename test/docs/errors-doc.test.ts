import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CLASSES, TooManyRequestsError } from '../../src/fhir/index.js';
import type { FhirhoseError } from '../../src/fhir/index.js';
import { statusOf } from '../../src/server/index.js';
import { JwksFetchError, OAuthError } from '../../src/auth/index.js';
import { CLIENT_ERROR_CLASSES } from '../../src/client/index.js';

// Runs from dist/test/docs/, so the repository root is three levels up (fastify's errors.test.js idea).
const DOC = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

type ErrorClass = (typeof ERROR_CLASSES)[number];

/** The cells of a Markdown table row, trimmed, without the outer pipes. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());
}

/** The domain error table: its header cells and the row that names `code`. */
function domainRow(code: string): { header: string[]; row: string[] } | undefined {
  const lines = DOC.split('\n');
  const headerAt = lines.findIndex((l) => l.startsWith('|') && l.includes('HTTP status'));
  assert.ok(headerAt >= 0, 'docs/errors.md has a table with an "HTTP status" column');
  const header = cells(lines[headerAt]!);
  for (let i = headerAt + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const row = cells(lines[i]!);
    if (row.some((c) => c === `\`${code}\``)) return { header, row };
  }
  return undefined;
}

/** Each class with its table row; classes without one are reported by the first test. */
function documented(): { cls: ErrorClass; header: string[]; row: string[] }[] {
  return ERROR_CLASSES.flatMap((cls) => {
    const found = domainRow(cls.code);
    return found ? [{ cls, ...found }] : [];
  });
}

/** An instance with a message, as a handler would throw it. */
function plain(cls: ErrorClass): FhirhoseError {
  if (cls === TooManyRequestsError) return new TooManyRequestsError('slow down', 7);
  return new (cls as new (message: string) => FhirhoseError)('boom');
}

/** An instance with every option that can change status or issue code (retryable, expired). */
function variant(cls: ErrorClass): FhirhoseError {
  if (cls === TooManyRequestsError) return new TooManyRequestsError('slow down', 7, {});
  const options = { retryable: true, expired: true };
  return new (cls as new (message: string, o: typeof options) => FhirhoseError)('boom', options);
}

describe('docs/errors.md', () => {
  test('lists the code of every domain error class in the status table', () => {
    const missing = ERROR_CLASSES.filter((cls) => domainRow(cls.code) === undefined).map((c) => c.code);
    assert.deepEqual(missing, [], `codes missing from docs/errors.md: ${missing.join(', ')}`);
  });

  test('names each class on the row of its code', () => {
    for (const { cls, row } of documented()) assert.equal(row[0], `\`${cls.name}\``, `row of ${cls.code}`);
  });

  test('documents the status the server answers for each class', () => {
    for (const { cls, header, row } of documented()) {
      const cell = row[header.indexOf('HTTP status')] ?? '';
      const documented = Number(/\d{3}/.exec(cell)?.[0]);
      assert.equal(documented, statusOf(plain(cls)), `status of ${cls.name}: docs say '${cell}'`);
      const other = statusOf(variant(cls));
      assert.ok(cell.includes(String(other)), `${cls.name} can also answer ${other}; docs say '${cell}'`);
    }
  });

  test('documents the FHIR issue code of each class', () => {
    for (const { cls, header, row } of documented()) {
      const cell = row[header.indexOf('Issue code')] ?? '';
      for (const error of [plain(cls), variant(cls)]) {
        assert.ok(cell.includes(`\`${error.issueCode}\``), `${cls.name} issue ${error.issueCode}: '${cell}'`);
      }
    }
  });

  test('lists the codes of the token endpoint, JWKS and client errors', () => {
    const codes = [OAuthError.code, JwksFetchError.code, ...CLIENT_ERROR_CLASSES.map((c) => c.code)];
    const missing = codes.filter((code) => !DOC.includes(`\`${code}\``));
    assert.deepEqual(missing, [], `codes missing from docs/errors.md: ${missing.join(', ')}`);
  });
});
