import type { GroupIndex, PreparedRow } from './prepared-row.js';

/**
 * Prepared rows flattened for `postMessage`: every string field concatenated into one text, and their
 * lengths in a transferable array. Cloning one long string is a single copy; cloning an array of
 * objects would cost a copy and an allocation per field.
 */
export interface PackedBatch {
  text: string;
  /**
   * Per row: the number of compartment strings, the length of the Group index JSON (0 when none),
   * then the lengths of type, id, hash, head, tail and each compartment string. The Group JSON follows.
   */
  layout: Int32Array;
}

/** Flatten prepared rows. */
export function packRows(rows: readonly PreparedRow[]): PackedBatch {
  let size = 0;
  for (const row of rows) size += 7 + row.compartment.length;
  const layout = new Int32Array(size);
  const parts: string[] = [];
  let k = 0;
  const put = (field: string): void => {
    layout[k++] = field.length;
    parts.push(field);
  };
  for (const row of rows) {
    const group = row.group ? JSON.stringify(row.group) : '';
    layout[k++] = row.compartment.length;
    layout[k++] = group.length;
    put(row.type);
    put(row.id);
    put(row.hash);
    put(row.head);
    put(row.tail);
    for (const field of row.compartment) put(field);
    parts.push(group);
  }
  return { text: parts.join(''), layout };
}

/** Rebuild the rows of a packed batch. The strings are slices of `text`, so this copies nothing. */
export function unpackRows(batch: PackedBatch): PreparedRow[] {
  const { text, layout } = batch;
  const rows: PreparedRow[] = [];
  let k = 0;
  let at = 0;
  const take = (length: number): string => text.slice(at, (at += length));
  const field = (): string => take(layout[k++] as number);
  while (k < layout.length) {
    const refs = layout[k++] as number;
    const groupLength = layout[k++] as number;
    const row: PreparedRow = {
      type: field(),
      id: field(),
      hash: field(),
      head: field(),
      tail: field(),
      compartment: [],
    };
    for (let i = 0; i < refs; i++) row.compartment.push(field());
    if (groupLength > 0) row.group = JSON.parse(take(groupLength)) as GroupIndex;
    rows.push(row);
  }
  return rows;
}
