import type { RowValues } from '../views/index.js';
import { valuesOf } from './row-values.js';
import type { Columns, RowEncoder } from './types.js';

// Keys in column order with every column present, whatever order a row object came in.
function jsonRow(names: readonly string[], values: RowValues): string {
  const out: Record<string, unknown> = {};
  for (let k = 0; k < names.length; k++) out[names[k]!] = values[k] ?? null;
  return JSON.stringify(out);
}

/** NDJSON: one row object per line. */
export function createNdjsonEncoder(columns: Columns): RowEncoder {
  const names = columns.map((c) => c.name);
  const values = (rows: readonly RowValues[]): Buffer | undefined => {
    if (rows.length === 0) return undefined;
    let text = '';
    for (const row of rows) text += `${jsonRow(names, row)}\n`;
    return Buffer.from(text);
  };
  return {
    contentType: 'application/x-ndjson',
    start: () => undefined,
    row: (row) => values([valuesOf(columns, row)]),
    values,
    end: () => undefined,
  };
}

/** JSON: one array of row objects, written row by row so it streams like NDJSON. */
export function createJsonEncoder(columns: Columns): RowEncoder {
  const names = columns.map((c) => c.name);
  let first = true;
  const values = (rows: readonly RowValues[]): Buffer | undefined => {
    if (rows.length === 0) return undefined;
    let text = '';
    for (const row of rows) {
      text += `${first ? '' : ','}\n${jsonRow(names, row)}`;
      first = false;
    }
    return Buffer.from(text);
  };
  return {
    contentType: 'application/json',
    start: () => Buffer.from('['),
    row: (row) => values([valuesOf(columns, row)]),
    values,
    end: () => Buffer.from(first ? ']' : '\n]\n'),
  };
}
