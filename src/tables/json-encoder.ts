import type { ViewRow } from '../views/index.js';
import type { Columns, RowEncoder } from './types.js';

// Keys in column order with every column present: JSON.stringify of the runner's row would keep
// that order too, but a row built elsewhere (tests, inline data) must not change the file.
function rowObject(columns: Columns, row: ViewRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { name } of columns) out[name] = row[name] ?? null;
  return out;
}

/** NDJSON: one row object per line. */
export function createNdjsonEncoder(columns: Columns): RowEncoder {
  return {
    contentType: 'application/x-ndjson',
    start: () => undefined,
    row: (row) => Buffer.from(`${JSON.stringify(rowObject(columns, row))}\n`),
    end: () => undefined,
  };
}

/** JSON: one array of row objects, written row by row so it streams like NDJSON. */
export function createJsonEncoder(columns: Columns): RowEncoder {
  let first = true;
  return {
    contentType: 'application/json',
    start: () => Buffer.from('['),
    row: (row) => {
      const text = JSON.stringify(rowObject(columns, row));
      const prefix = first ? '' : ',';
      first = false;
      return Buffer.from(`${prefix}\n${text}`);
    },
    end: () => Buffer.from(first ? ']' : '\n]\n'),
  };
}
