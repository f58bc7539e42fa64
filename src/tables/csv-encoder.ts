import { InvalidViewDefinitionError } from '../views/index.js';
import type { RowValues, ViewRow } from '../views/index.js';
import { valuesOf } from './row-values.js';
import type { Columns, RowEncoder } from './types.js';

// RFC 4180 §2.6: a field holding a comma, a quote, CR or LF must be quoted.
const NEEDS_QUOTES = /[",\r\n]/;
const QUOTES = /"/g;

/** One CSV field: RFC 4180 quoting, an empty field for null, JSON text for an object value. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  // Numbers and booleans never need quotes; only text is tested.
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replace(QUOTES, '""')}"` : text;
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

/** The CSV lines of a batch as one string: one Buffer per batch costs far less than one per row. */
function csvLines(rows: readonly RowValues[], width: number): string {
  let text = '';
  for (const row of rows) {
    for (let k = 0; k < width; k++) {
      if (k > 0) text += ',';
      text += csvField(row[k]);
    }
    text += '\r\n';
  }
  return text;
}

/** CSV per RFC 4180: CRLF line ends, a header row of the column names unless `header` is false. */
export function createCsvEncoder(columns: Columns, header = true): RowEncoder {
  assertTabular(columns);
  const names = columns.map((c) => c.name);
  const width = columns.length;
  const values = (rows: readonly RowValues[]): Buffer | undefined =>
    rows.length === 0 ? undefined : Buffer.from(csvLines(rows, width));
  return {
    contentType: 'text/csv',
    start: () => (header ? Buffer.from(`${names.map(csvField).join(',')}\r\n`) : undefined),
    row: (row: ViewRow) => values([valuesOf(columns, row)]),
    values,
    end: () => undefined,
  };
}
