import { NotSupportedError } from '../fhir/index.js';
import type { RowValues } from '../views/index.js';
import { createCsvEncoder } from './csv-encoder.js';
import { createJsonEncoder, createNdjsonEncoder } from './json-encoder.js';
import { createParquetEncoder } from './parquet-encoder.js';
import { TABLE_FORMATS } from './types.js';
import type { Columns, EncoderOptions, RowEncoder, TableFormat } from './types.js';

// Media types accepted in place of the codes (Pathling sends them in `_format`).
const ALIASES: Record<string, TableFormat> = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'text/csv': 'csv',
  'application/vnd.apache.parquet': 'parquet',
};

/** The format a `_format` code or media type names; NotSupportedError for any other. */
export function parseTableFormat(value: string, parameter = '_format'): TableFormat {
  const code = value.trim().toLowerCase();
  if ((TABLE_FORMATS as readonly string[]).includes(code)) return code as TableFormat;
  const alias = ALIASES[code];
  if (alias) return alias;
  throw new NotSupportedError(
    `${parameter} '${value}' is not supported; use one of ${TABLE_FORMATS.join(', ')}`,
    {
      expression: parameter,
    },
  );
}

/** An encoder for `format` over these columns; CSV throws InvalidViewDefinitionError on a collection. */
export function createEncoder(
  format: TableFormat,
  columns: Columns,
  options: EncoderOptions = {},
): RowEncoder {
  switch (format) {
    case 'csv':
      return createCsvEncoder(columns, options.header ?? true);
    case 'ndjson':
      return createNdjsonEncoder(columns);
    case 'json':
      return createJsonEncoder(columns);
    case 'parquet':
      return createParquetEncoder(columns, options.rowGroupBytes);
  }
}

/** The bytes of `rows` in the encoder's format, as they become ready; pipe them to a file or reply. */
export async function* encodeRows(
  encoder: RowEncoder,
  rows: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>,
): AsyncGenerator<Buffer> {
  const first = encoder.start();
  if (first) yield first;
  for await (const row of rows) {
    const chunk = encoder.row(row);
    if (chunk) yield chunk;
  }
  const last = encoder.end();
  if (last) yield last;
}

/**
 * The bytes of batches of row values (as `viewValuesFromStore` yields them) in the encoder's
 * format: one chunk per batch at most, so a large export costs one await per batch, not per row.
 */
export async function* encodeValueBatches(
  encoder: RowEncoder,
  batches: AsyncIterable<readonly RowValues[]> | Iterable<readonly RowValues[]>,
): AsyncGenerator<Buffer> {
  const first = encoder.start();
  if (first) yield first;
  for await (const batch of batches) {
    const chunk = encoder.values(batch);
    if (chunk) yield chunk;
  }
  const last = encoder.end();
  if (last) yield last;
}
