import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { ViewRow } from '../views/index.js';
import { parquetColumn, parquetSchema } from './parquet-schema.js';
import type { Columns, RowEncoder } from './types.js';

/** Default bound on the buffered values of one row group. */
export const DEFAULT_ROW_GROUP_BYTES = 32 * 1024 * 1024;

// A rough size of a value in memory and on disk, enough to bound a row group; exactness is not needed.
function sizeOf(value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (typeof value === 'string') return value.length + 4;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + sizeOf(v), 4);
  if (typeof value === 'object') return JSON.stringify(value).length + 4;
  return 8;
}

/**
 * Parquet with a schema from the column types. Rows are buffered column by column and written as a
 * row group once they reach `rowGroupBytes`; the bytes of each row group leave at once, so memory
 * holds one row group, not the file.
 */
export function createParquetEncoder(columns: Columns, rowGroupBytes = DEFAULT_ROW_GROUP_BYTES): RowEncoder {
  const layout = columns.map(parquetColumn);
  const out = new ByteWriter();
  const writer = new ParquetWriter({ writer: out, schema: parquetSchema(layout), createdBy: 'fhirhose' });
  let buffered: unknown[][] = layout.map(() => []);
  let rows = 0;
  let bytes = 0;

  // The writer's offsets count every byte ever written, so the buffer can be emptied between groups.
  const drain = (): Buffer | undefined => {
    if (out.index === 0) return undefined;
    const chunk = Buffer.from(out.getBytes());
    out.index = 0;
    return chunk;
  };
  const flushGroup = (): void => {
    if (rows === 0) return;
    const columnData = layout.map((c, i) => ({ name: c.name, data: buffered[i] as unknown[] }));
    void writer.write({ columnData: columnData as never, rowGroupSize: rows });
    buffered = layout.map(() => []);
    rows = 0;
    bytes = 0;
  };

  return {
    contentType: 'application/vnd.apache.parquet',
    start: drain,
    row: (row: ViewRow) => {
      layout.forEach((c, i) => {
        const value = c.convert(row[c.name]);
        (buffered[i] as unknown[]).push(value);
        bytes += sizeOf(value);
      });
      rows += 1;
      if (bytes < rowGroupBytes) return undefined;
      flushGroup();
      return drain();
    },
    end: () => {
      flushGroup();
      writer.finish();
      return drain();
    },
  };
}
