// Where export files live, and how NDJSON is written into them.
export type * from './types.js';
export { LocalDirStorage } from './local-dir.js';
export { createStorage } from './create-storage.js';
export { NdjsonSeries } from './ndjson-writer.js';
export type { NdjsonFile, NdjsonSeriesOptions } from './ndjson-writer.js';
