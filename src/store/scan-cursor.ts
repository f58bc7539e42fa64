import type { ScanBatch, StoredResource } from './types.js';

/** Mark a non-empty batch of a key-ordered scan with where the scan stands after it (its last key). */
export function withCursor(rows: StoredResource[]): ScanBatch {
  const last = rows[rows.length - 1];
  if (!last) throw new TypeError('a scan batch is never empty');
  return Object.assign(rows, { cursor: { lastUpdated: last.lastUpdated, id: last.id } });
}
