// Tables from views: rows encoded as CSV, NDJSON, JSON or Parquet, and rows read from the store.
export { assertTabular, csvField, createCsvEncoder } from './csv-encoder.js';
export { createJsonEncoder, createNdjsonEncoder } from './json-encoder.js';
export { createParquetEncoder, DEFAULT_ROW_GROUP_BYTES } from './parquet-encoder.js';
export { parquetColumn, parquetSchema } from './parquet-schema.js';
export type { ParquetColumn, SchemaElement } from './parquet-schema.js';
export { createEncoder, encodeRows, encodeValueBatches, parseTableFormat } from './create-encoder.js';
export { limitRows, viewRowsFromResources, viewRowsFromStore, viewValuesFromStore } from './store-rows.js';
export type { ViewScope } from './store-rows.js';
export { TABLE_FORMATS } from './types.js';
export type { Columns, EncoderOptions, RowEncoder, TableFormat } from './types.js';
