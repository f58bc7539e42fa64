import { elementsKeepSet, subsettedMeta } from './elements.js';
import type { ElementsSpec } from './elements.js';
import { BACKSLASH, CLOSE_OBJECT, COLON, COMMA, OPEN_OBJECT, QUOTE, valueEnd } from './json-bytes.js';
import type { FhirResource } from './resource.js';
import { ProjectionPlan } from './projection-plan.js';
import type { ProjectionSink } from './projection-plan.js';

export type { ProjectionSink } from './projection-plan.js';

// `_elements` on a resource's stored JSON bytes, in one pass over them: the root members it keeps are
// copied as byte slices, the others skipped unparsed; only a `meta` other than the store's is parsed, to
// add the SUBSETTED tag. The result is byte for byte what JSON.stringify(projectElements(JSON.parse(text)))
// gives. Where the copy could differ (JSON that JSON.stringify would write otherwise in what is copied:
// whitespace, `\u` or `\/` escapes, numbers such as `1.50`; escaped, duplicate or integer-like keys), it
// declines and the caller takes the parsed path.

const UNDERSCORE = 0x5f;
const ZERO = 0x30;
const NINE = 0x39;
const RESOURCE_TYPE = Buffer.from('resourceType');
const META = Buffer.from('meta');
const ID = Buffer.from('id');
const PROTO = Buffer.from('__proto__');
/** The meta the store writes (no tags yet): `{"versionId":"…","lastUpdated":"…"}`. */
const STORED_META_HEAD = Buffer.from('{"versionId":"');
const STORED_META_MIDDLE = Buffer.from('","lastUpdated":"');
const ASCII_RE = /^[\x20-\x7e]*$/;
/** The SUBSETTED tag goes last, as the spread in subsettedMeta puts it. */
const SUBSETTED_TAG = `,${JSON.stringify(subsettedMeta({})).slice(1)}`;

/** Whether b[start, start + name.length) is `name`. */
function bytesAre(b: Uint8Array, start: number, name: Uint8Array): boolean {
  const length = name.length;
  for (let j = 0; j < length; j++) if (b[start + j] !== name[j]) return false;
  return true;
}

/** Kept names as bytes, by length: a key is compared only with the names of its length. */
type NameTable = Uint8Array[][];
const NAME_TABLES = new WeakMap<ReadonlySet<string>, NameTable>();
let lastKeep: ReadonlySet<string> | undefined;
let lastTable: NameTable = [];

/** The name table of a keep set; consecutive rows are of one type and spec, so the last one is it. */
function nameTable(keep: ReadonlySet<string>): NameTable {
  if (keep === lastKeep) return lastTable;
  let table = NAME_TABLES.get(keep);
  if (table === undefined) {
    table = [];
    for (const name of keep) (table[Buffer.byteLength(name)] ??= []).push(Buffer.from(name));
    NAME_TABLES.set(keep, table);
  }
  lastKeep = keep;
  lastTable = table;
  return table;
}

/** Whether b[start, start + length) is one of the table's names. */
function isKept(table: NameTable, b: Uint8Array, start: number, length: number): boolean {
  const names = table[length];
  if (names === undefined) return false;
  for (const name of names) if (bytesAre(b, start, name)) return true;
  return false;
}

/** End (exclusive) of a key at `at`; -1 when unterminated or escaped (JSON.parse would unescape it). */
function keyEnd(b: Uint8Array, at: number): number {
  const n = b.length;
  for (let i = at + 1; i < n; i++) {
    const c = b[i];
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) return -1;
  }
  return -1;
}

/** Whether JSON.parse and Object.entries would treat the key specially: array indexes go first, `__proto__`. */
function specialKey(b: Uint8Array, start: number, length: number): boolean {
  const c = b[start]!;
  if (c === UNDERSCORE) return length === PROTO.length && bytesAre(b, start, PROTO);
  if (c < ZERO || c > NINE) return false;
  if (c === ZERO) return length === 1;
  for (let i = start + 1; i < start + length; i++) if (b[i]! < ZERO || b[i]! > NINE) return false;
  return true;
}

/** Keys read so far in the row being projected, as [start, length] pairs of its bytes. */
let keySpans = new Int32Array(2 * 32);
let keyCount = 0;

/** Whether the row had this key before (JSON.parse keeps the last), and notes it if not. */
function repeatedKey(b: Uint8Array, start: number, length: number): boolean {
  for (let k = 0; k < keyCount; k += 2) {
    if (keySpans[k + 1] !== length) continue;
    const other = keySpans[k]!;
    let same = true;
    for (let j = 0; same && j < length; j++) same = b[start + j] === b[other + j];
    if (same) return true;
  }
  if (keyCount + 2 > keySpans.length) {
    const grown = new Int32Array(keySpans.length * 2);
    grown.set(keySpans);
    keySpans = grown;
  }
  keySpans[keyCount] = start;
  keySpans[keyCount + 1] = length;
  keyCount += 2;
  return false;
}

/** Whether the object b[start, end) is the meta the store writes, with no quote or escape in its values. */
function storedMeta(b: Uint8Array, start: number, end: number): boolean {
  if (!bytesAre(b, start, STORED_META_HEAD)) return false;
  let i = start + STORED_META_HEAD.length;
  while (i < end && b[i] !== QUOTE && b[i] !== BACKSLASH) i++;
  if (!bytesAre(b, i, STORED_META_MIDDLE)) return false;
  i += STORED_META_MIDDLE.length;
  while (i < end && b[i] !== QUOTE && b[i] !== BACKSLASH) i++;
  return i === end - 2 && b[i] === QUOTE && b[i + 1] === CLOSE_OBJECT;
}

const NO_META = metaText(undefined);
// Planned before it is written, so a projection is written once, straight into the sink; one plan
// serves every row (a projection is synchronous).
const plan = new ProjectionPlan(SUBSETTED_TAG);

/** `meta` with the SUBSETTED tag, as JSON whose latin1 encoding is its UTF-8. */
function metaText(meta: FhirResource['meta']): string {
  const json = JSON.stringify(subsettedMeta(meta));
  return ASCII_RE.test(json) ? json : Buffer.from(json, 'utf8').toString('latin1');
}

/** Plans the row's `meta`, the object at bytes[start, end). */
function planMeta(bytes: Buffer, start: number, end: number): void {
  if (storedMeta(bytes, start, end)) {
    plan.storedMeta(start, end);
  } else {
    const meta = JSON.parse(bytes.toString('utf8', start, end)) as FhirResource['meta'];
    plan.metaText(metaText(meta));
  }
}

/** Whether the key bytes[start, start + length) is copied: `id`, the kept names and their `_` extensions. */
function copiedKey(table: NameTable, bytes: Buffer, start: number, length: number): boolean {
  const nameStart = bytes[start] === UNDERSCORE ? start + 1 : start;
  const nameLength = length - (nameStart - start);
  return (nameLength === 2 && bytesAre(bytes, nameStart, ID)) || isKept(table, bytes, nameStart, nameLength);
}

/** Whether bytes[start, end) is the JSON string of `type` (an ASCII name). */
function typeIs(bytes: Buffer, start: number, end: number, type: string): boolean {
  if (end - start !== type.length + 2 || bytes[start] !== QUOTE) return false;
  for (let j = 0; j < type.length; j++) if (bytes[start + 1 + j] !== type.charCodeAt(j)) return false;
  return true;
}

/**
 * Applies `_elements` to one resource given as its stored UTF-8 JSON, without parsing it, writing the
 * projected JSON (no newline) into `sink`.
 * @param bytes - the resource's JSON, nothing before or after it
 * @param type - its resource type
 * @param spec - from parseElements
 * @returns true when written; null when `spec` lists nothing for the type (export it whole), and
 *   undefined when the bytes are not written as JSON.stringify would write them (project the parsed
 *   resource): in both cases nothing was written
 */
export function projectElementsRawInto(
  bytes: Buffer,
  type: string,
  spec: ElementsSpec,
  sink: ProjectionSink,
): true | null | undefined {
  const keep = elementsKeepSet(type, spec);
  if (keep === null) return null;
  if (bytes[0] !== OPEN_OBJECT || bytes[1] !== QUOTE) return undefined;
  const table = nameTable(keep);
  keyCount = 0;
  let typeStart = -1;
  let typeEnd = -1;
  let hasMeta = false;
  plan.reset();
  for (let i = 1; ;) {
    if (bytes[i] !== QUOTE) return undefined;
    const afterKey = keyEnd(bytes, i);
    if (afterKey < 0 || bytes[afterKey] !== COLON) return undefined;
    // The key is bytes[i + 1, afterKey - 1), read in place: no string per key (most rows have a dozen).
    const start = i + 1;
    const length = afterKey - 1 - start;
    if (specialKey(bytes, start, length) || repeatedKey(bytes, start, length)) return undefined;
    const isType = length === RESOURCE_TYPE.length && bytesAre(bytes, start, RESOURCE_TYPE);
    const isMeta = length === META.length && bytesAre(bytes, start, META);
    const copied = isType || (!isMeta && copiedKey(table, bytes, start, length));
    const end = valueEnd(bytes, afterKey + 1, copied);
    if (end < 0) return undefined;
    if (isType) {
      typeStart = afterKey + 1;
      typeEnd = end;
    } else if (isMeta) {
      hasMeta = true;
      planMeta(bytes, afterKey + 1, end);
    } else if (copied) {
      plan.copy(i, end);
    }
    const next = bytes[end];
    if (next === CLOSE_OBJECT) {
      if (end + 1 !== bytes.length) return undefined;
      break;
    }
    if (next !== COMMA) return undefined;
    i = end + 1;
  }
  // resourceType goes first, wherever the stored JSON has it; the keep set was the one of `type`.
  if (!typeIs(bytes, typeStart, typeEnd, type)) return undefined;
  if (!hasMeta) plan.metaText(NO_META);
  plan.write(bytes, typeStart, typeEnd, sink);
  return true;
}

/** A sink that makes a buffer of the projection's size. */
class BufferSink implements ProjectionSink {
  buffer = Buffer.alloc(0);

  reserve(length: number): number {
    this.buffer = Buffer.allocUnsafe(length);
    return 0;
  }
}

/**
 * projectElementsRawInto giving the projected JSON as a buffer of its own.
 * @returns the projected JSON; null when `spec` lists nothing for the type (export it whole); undefined
 *   when the bytes are not written as JSON.stringify would write them (project the parsed resource)
 */
export function projectElementsRaw(
  bytes: Buffer,
  type: string,
  spec: ElementsSpec,
): Buffer | null | undefined {
  const sink = new BufferSink();
  const done = projectElementsRawInto(bytes, type, spec, sink);
  return done === true ? sink.buffer : done;
}
