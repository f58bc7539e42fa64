import { gzipSync } from 'node:zlib';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { RowValues, ViewRow } from '../views/index.js';
import { valuesOf } from './row-values.js';
import { parquetColumn, parquetSchema } from './parquet-schema.js';
import type { Columns, RowEncoder } from './types.js';

/**
 * Default bound on the buffered values of one row group, counted as their size on the V8 heap.
 * The writer copies, levels, dictionary-encodes and compresses a whole group at once, so a group
 * costs several times its values: over the flattened Observation view of the 1M bench data,
 * `views run` peaked at 740 MB RSS with 32 MiB counted as text length, and at 395, 311 and 210 MB
 * with 16, 8 and 4 MiB counted as heap (CSV: about 130 MB). In `$viewdefinition-export` (two worker
 * threads) the server peaked at 261 MiB with 4 MiB and 244 with 2 MiB, against a bar of 250. 2 MiB
 * is about 5,500 rows of that view; smaller groups made no larger files (smaller dictionaries).
 */
export const DEFAULT_ROW_GROUP_BYTES = 2 * 1024 * 1024;

/**
 * Pages are GZIP-compressed by node:zlib at level 1 rather than by the writer's Snappy, written in
 * JavaScript. Over 100,000 rows of the bench's Observation view (one worker thread, the export's
 * limits): files 35% smaller (3.1 MB against 4.8), CPU within the noise of a shared machine; the
 * export's peak server RSS did not change beyond its noise. Every Parquet reader reads GZIP.
 */
const GZIP_LEVEL = 1;
const compressors = { GZIP: (page: Uint8Array): Uint8Array => gzipSync(page, { level: GZIP_LEVEL }) };

// V8 heap bytes of a value in a column array: the slot, plus a string's header and characters.
function sizeOf(value: unknown): number {
  if (value === null || value === undefined) return 8;
  if (typeof value === 'string') return value.length + 24;
  if (Array.isArray(value)) {
    let n = 24;
    for (const v of value) n += sizeOf(v);
    return n;
  }
  if (typeof value === 'object') return JSON.stringify(value).length + 32;
  return 16;
}

/**
 * Parquet with a schema from the column types. Rows are buffered column by column and written as a
 * row group once they reach `rowGroupBytes`; the bytes of each row group leave at once, so memory
 * holds one row group, not the file.
 */
export function createParquetEncoder(columns: Columns, rowGroupBytes = DEFAULT_ROW_GROUP_BYTES): RowEncoder {
  const layout = columns.map(parquetColumn);
  const width = layout.length;
  const out = new ByteWriter();
  const writer = new ParquetWriter({
    writer: out,
    schema: parquetSchema(layout),
    codec: 'GZIP',
    compressors,
    createdBy: 'fhirhose',
  });
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
  const values = (batch: readonly RowValues[]): Buffer | undefined => {
    let filled = false;
    for (const row of batch) {
      for (let k = 0; k < width; k++) {
        const value = layout[k]!.convert(row[k]);
        buffered[k]!.push(value);
        bytes += sizeOf(value);
      }
      rows += 1;
      if (bytes >= rowGroupBytes) {
        flushGroup();
        filled = true;
      }
    }
    return filled ? drain() : undefined;
  };

  return {
    contentType: 'application/vnd.apache.parquet',
    start: drain,
    row: (row: ViewRow) => values([valuesOf(columns, row)]),
    values,
    end: () => {
      flushGroup();
      writer.finish();
      return drain();
    },
  };
}
