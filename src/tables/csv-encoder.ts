import { InvalidViewDefinitionError } from '../views/index.js';
import type { ViewRow } from '../views/index.js';
import type { Columns, RowEncoder } from './types.js';

// RFC 4180 §2.6: a field holding a comma, a quote, CR or LF must be quoted.
const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field: RFC 4180 quoting, an empty field for null, JSON text for an object value. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Rejects what a flat table cannot hold: the Tabular profile has no `collection: true` column (the
 * spec leaves array cells in CSV undefined, so we refuse rather than invent an encoding).
 */
export function assertTabular(columns: Columns): void {
  const index = columns.findIndex((c) => c.collection);
  if (index >= 0) {
    const name = columns[index]?.name ?? '';
    throw new InvalidViewDefinitionError(
      `column '${name}' has collection: true, which CSV cannot hold; use ndjson, json or parquet`,
      { expression: `column.${name}` },
    );
  }
}

/** CSV per RFC 4180: CRLF line ends, a header row of the column names unless `header` is false. */
export function createCsvEncoder(columns: Columns, header = true): RowEncoder {
  assertTabular(columns);
  const names = columns.map((c) => c.name);
  return {
    contentType: 'text/csv',
    start: () => (header ? Buffer.from(`${names.map(csvField).join(',')}\r\n`) : undefined),
    row: (row: ViewRow) => Buffer.from(`${names.map((n) => csvField(row[n])).join(',')}\r\n`),
    end: () => undefined,
  };
}
