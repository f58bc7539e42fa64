import type { ColumnInfo, RowValues, ViewRow } from '../views/index.js';

/** The table formats a view's rows can be written in. */
export type TableFormat = 'csv' | 'ndjson' | 'json' | 'parquet';

/** All formats, in the order docs and error messages list them. */
export const TABLE_FORMATS: readonly TableFormat[] = ['json', 'ndjson', 'csv', 'parquet'];

/**
 * Turns rows into the bytes of one file. It does no I/O: the caller writes what each call returns, so
 * the same encoder serves a file on disk and an HTTP response, and backpressure stays with the caller.
 */
export interface RowEncoder {
  /** The MIME type of the bytes. */
  readonly contentType: string;
  /** The bytes before the first row (a CSV header, a JSON `[`), if any. */
  start(): Buffer | undefined;
  /** The bytes of one row; Parquet returns bytes only when a row group fills. */
  row(row: ViewRow): Buffer | undefined;
  /**
   * The bytes of a batch of rows given as values in column order (`ViewRunner.values`): one Buffer
   * per batch instead of one per row. Parquet returns bytes only when a row group fills.
   */
  values(rows: readonly RowValues[]): Buffer | undefined;
  /** The last bytes (the Parquet footer, a JSON `]`). */
  end(): Buffer | undefined;
}

/** Options shared by the encoders. */
export interface EncoderOptions {
  /** CSV: write the header row (default true). */
  header?: boolean;
  /** Parquet: flush a row group once its values reach about this many bytes (default 2 MiB, counted as heap bytes). */
  rowGroupBytes?: number;
}

/** The columns an encoder is built for. */
export type Columns = readonly ColumnInfo[];
