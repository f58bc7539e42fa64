import { hash as digest } from 'node:crypto';
import type { FhirResource } from '../fhir/index.js';
import type { GroupIndex, PreparedRow } from './prepared-row.js';
import { indexEntries } from './prepared-row.js';
import { canSplice, MARKS, prepareResource, splicePrefix, versionFields } from './stamp.js';

/**
 * Resources prepared for writing, laid out so one `postMessage` moves a whole batch between threads:
 * the stored JSON of every row as UTF-8 in one transferable buffer (at version 1 with a placeholder
 * instant, which the writer overwrites in place), the short strings concatenated in `keys`, and the
 * lengths of everything in `layout`. A store binds each row's bytes as they are: no string is built
 * and no text re-encoded on the writing thread.
 */
export interface PreparedBatch {
  rows: number;
  /**
   * Per row: type, id, hash, the compartment strings, then the JSON of a Group's index or of a
   * Provenance's targets when there is one.
   */
  keys: string;
  /**
   * Per row: compartment string count, Group or target JSON length (0 when none), JSON byte length, offset of
   * the version fields in the JSON, then the lengths of type, id, hash and each compartment string.
   */
  layout: Int32Array;
  json: Uint8Array;
  /** Per row, in the order added: where it starts in `json`, in `layout` and in `keys`. */
  starts: Float64Array;
  /** The order to write the rows in (indexes into `starts`); absent means the order added. */
  order?: Int32Array;
}

/** Length of a formatted instant (`formatInstant` gives this for years 0 to 9999). */
export const INSTANT_LENGTH = 24;
const PLACEHOLDER_FIELDS = versionFields(1, '0'.repeat(INSTANT_LENGTH));
const FIELDS_BYTES = Buffer.from(PLACEHOLDER_FIELDS);
const MARKS_BYTES = Buffer.from(MARKS);
const CLOSE_META = Buffer.from('},');
/** Where the instant starts inside the version fields. */
export const INSTANT_OFFSET = PLACEHOLDER_FIELDS.length - INSTANT_LENGTH - 1;
/** Byte length of the version fields at version 1. */
export const VERSION1_LENGTH = PLACEHOLDER_FIELDS.length;

const MAX_SORT_TYPES = 32;
const PREFIX_RANGE = 2 ** 24;
const ROW_RANGE = 2 ** 24;

/** The first three UTF-16 units of an id as a number in [0, 2^24), in the order SQLite sorts ASCII. */
function idPrefix(id: string): number {
  let prefix = 0;
  for (let i = 0; i < 3; i++) prefix = prefix * 256 + Math.min(id.charCodeAt(i) || 0, 255);
  return prefix;
}

/** Builds a `PreparedBatch`; `add` resources, then `build` once. */
export class BatchBuilder {
  private readonly keys: string[] = [];
  private readonly layout: number[] = [];
  private json: Buffer;
  private used = 0;
  private count = 0;
  private keysLength = 0;
  /** Where each row starts in `json`, `layout` and `keys` (3 numbers a row). */
  private readonly starts: number[] = [];
  /** Each row's type and id prefix, to sort by. */
  private readonly sortBy: { type: string; prefix: number }[] = [];
  private readonly heads = new Map<string, Buffer>();

  /**
   * @param buffer - the JSON buffer to fill (one from a batch already written can be reused), or
   *   the size of a new one; it grows when needed
   */
  constructor(buffer: Buffer | number = 1 << 20) {
    this.json = typeof buffer === 'number' ? Buffer.allocUnsafeSlow(buffer) : buffer;
  }

  get rows(): number {
    return this.count;
  }

  /** Bytes of JSON so far. */
  get bytes(): number {
    return this.used;
  }

  /**
   * Add a resource. `text`, when given, is the compact JSON it was parsed from; see `prepareResource`.
   * Mutates `resource.meta` when the text cannot be reused.
   */
  add(resource: FhirResource & { id: string }, text?: string): void {
    const start = this.used;
    this.starts.push(start, this.layout.length, this.keysLength);
    this.sortBy.push({ type: resource.resourceType, prefix: idPrefix(resource.id) });
    let hash: string;
    let metaAt: number;
    if (text !== undefined && canSplice(resource, text)) {
      // Write the hashed template (head, MARKS, tail), hash it where it lies, then shift the tail
      // down over the difference and write the version fields in place of MARKS.
      const rest = text.slice(splicePrefix(resource.resourceType).length);
      const head = this.headFor(resource.resourceType);
      this.reserve(head.length + MARKS_BYTES.length + CLOSE_META.length + 3 * rest.length);
      metaAt = this.put(head) - start;
      const tailAt = this.put(MARKS_BYTES);
      this.put(CLOSE_META);
      this.used += this.json.write(rest, this.used);
      hash = digest('sha1', this.json.subarray(start, this.used), 'base64');
      const shift = MARKS_BYTES.length - FIELDS_BYTES.length;
      this.json.copyWithin(tailAt - shift, tailAt, this.used);
      this.json.set(FIELDS_BYTES, start + metaAt);
      this.used -= shift;
    } else {
      const p = prepareResource(resource, text);
      this.reserve(3 * (p.head.length + p.tail.length) + VERSION1_LENGTH);
      this.used += this.json.write(p.head, this.used);
      metaAt = this.used - start;
      this.put(FIELDS_BYTES);
      this.used += this.json.write(p.tail, this.used);
      hash = p.hash;
    }
    const { compartment, group, targets } = indexEntries(resource);
    // A Group's index or a Provenance's targets, told apart by the row's type when read back.
    const extra = group ?? targets;
    const groupJson = extra ? JSON.stringify(extra) : '';
    this.layout.push(compartment.length, groupJson.length, this.used - start, metaAt);
    for (const key of [resource.resourceType, resource.id, hash, ...compartment]) {
      this.layout.push(key.length);
      this.keys.push(key);
      this.keysLength += key.length;
    }
    this.keys.push(groupJson);
    this.keysLength += groupJson.length;
    this.count += 1;
  }

  /**
   * The batch; its buffers can be transferred. With `sortByKey`, the rows are to be written in about
   * (type, id) order, so the writer walks the (type, id) index in one sweep and the rows of a batch
   * lie in the table nearly in the order an export scans them. Ids are ordered by their first three
   * characters only: that is enough for locality, and it lets a native numeric sort do the work. Two
   * versions of one resource keep their order.
   */
  build(options: { sortByKey?: boolean } = {}): PreparedBatch {
    const batch: PreparedBatch = {
      rows: this.count,
      keys: this.keys.join(''),
      layout: Int32Array.from(this.layout),
      json: new Uint8Array(this.json.buffer, 0, this.used),
      starts: Float64Array.from(this.starts),
    };
    const order = options.sortByKey ? this.keyOrder() : undefined;
    if (order) batch.order = order;
    return batch;
  }

  /** Row indexes in sort order, or undefined when the batch is too varied to pack the sort keys. */
  private keyOrder(): Int32Array | undefined {
    const types = [...new Set(this.sortBy.map((r) => r.type))].sort();
    if (types.length > MAX_SORT_TYPES || this.count > ROW_RANGE) return undefined;
    const rank = new Map(types.map((t, i) => [t, i]));
    // type rank (5 bits) | id prefix (24 bits) | row index (24 bits): exact in a double.
    const sortKeys = new Float64Array(this.count);
    this.sortBy.forEach((r, i) => {
      sortKeys[i] = ((rank.get(r.type) as number) * PREFIX_RANGE + r.prefix) * ROW_RANGE + i;
    });
    sortKeys.sort();
    return Int32Array.from(sortKeys, (key) => key % ROW_RANGE);
  }

  /** The spliced head of a type: its text up to the meta version fields. */
  private headFor(type: string): Buffer {
    let head = this.heads.get(type);
    if (head === undefined) {
      head = Buffer.from(`${splicePrefix(type)}"meta":{`);
      this.heads.set(type, head);
    }
    return head;
  }

  /** Copy bytes in; returns the offset after them. */
  private put(bytes: Uint8Array): number {
    this.json.set(bytes, this.used);
    this.used += bytes.length;
    return this.used;
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.json.length) return;
    const grown = Buffer.allocUnsafeSlow(
      Math.max(this.json.length + (this.json.length >> 2), this.used + bytes),
    );
    this.json.copy(grown, 0, 0, this.used);
    this.json = grown;
  }
}

/** Every row of a batch as a `PreparedRow`, for a store that writes rows rather than bytes. */
export function preparedRows(batch: PreparedBatch): PreparedRow[] {
  const rows: PreparedRow[] = [];
  const cursor = new BatchCursor(batch);
  while (cursor.next()) rows.push(cursor.toRow());
  return rows;
}

/**
 * Walks the rows of a batch. The fields describe the current row; `compartment` is reused from row
 * to row, so copy it to keep it.
 */
export class BatchCursor {
  type = '';
  id = '';
  hash = '';
  compartment: string[] = [];
  group: GroupIndex | undefined;
  targets: string[] | undefined;
  /** Offsets of the row's JSON in `batch.json`, and of its version fields. */
  start = 0;
  end = 0;
  metaAt = 0;
  private position = 0;
  private k = 0;
  private at = 0;
  private readonly json: Buffer;

  constructor(private readonly batch: PreparedBatch) {
    this.json = Buffer.from(batch.json.buffer, batch.json.byteOffset, batch.json.byteLength);
  }

  /** Move to the next row; false after the last. */
  next(): boolean {
    const { layout, starts, order } = this.batch;
    if (this.position >= this.batch.rows) return false;
    const row = order ? (order[this.position] as number) : this.position;
    this.position += 1;
    this.start = starts[3 * row] as number;
    this.k = starts[3 * row + 1] as number;
    this.at = starts[3 * row + 2] as number;
    const refs = layout[this.k] as number;
    const groupLength = layout[this.k + 1] as number;
    this.end = this.start + (layout[this.k + 2] as number);
    this.metaAt = this.start + (layout[this.k + 3] as number);
    this.k += 4;
    this.type = this.key();
    this.id = this.key();
    this.hash = this.key();
    this.compartment.length = 0;
    for (let i = 0; i < refs; i++) this.compartment.push(this.key());
    this.group = undefined;
    this.targets = undefined;
    if (groupLength > 0) {
      const extra = JSON.parse(this.take(groupLength)) as unknown;
      if (this.type === 'Provenance') this.targets = extra as string[];
      else this.group = extra as GroupIndex;
    }
    return true;
  }

  /** The row's JSON bytes at version 1, with `instant` (a formatted instant) written in. */
  jsonAtVersion1(instant: Uint8Array): Uint8Array {
    this.json.set(instant, this.metaAt + INSTANT_OFFSET);
    return this.json.subarray(this.start, this.end);
  }

  /** The row as a `PreparedRow`, for the general write path. */
  toRow(): PreparedRow {
    const row: PreparedRow = {
      type: this.type,
      id: this.id,
      hash: this.hash,
      head: this.json.toString('utf8', this.start, this.metaAt),
      tail: this.json.toString('utf8', this.metaAt + VERSION1_LENGTH, this.end),
      compartment: [...this.compartment],
    };
    if (this.group) row.group = this.group;
    if (this.targets) row.targets = this.targets;
    return row;
  }

  private key(): string {
    return this.take(this.batch.layout[this.k++] as number);
  }

  private take(length: number): string {
    return this.batch.keys.slice(this.at, (this.at += length));
  }
}
