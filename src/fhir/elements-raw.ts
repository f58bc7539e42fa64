import { elementsKeepSet, subsettedMeta } from './elements.js';
import type { ElementsSpec } from './elements.js';
import type { FhirResource } from './resource.js';
import { ProjectionPlan } from './projection-plan.js';
import type { ProjectionSink } from './projection-plan.js';

export type { ProjectionSink } from './projection-plan.js';

// `_elements` on a resource's stored JSON bytes: the root members it keeps are copied as byte slices,
// the others skipped unparsed; only `meta` is parsed, to add the SUBSETTED tag. The result is byte for
// byte what JSON.stringify(projectElements(JSON.parse(text))) gives. Where the copy could differ (JSON
// that JSON.stringify would write otherwise: whitespace, `\u` or `\/` escapes, numbers such as `1.50`,
// duplicate or integer-like keys), it declines and the caller takes the parsed path.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const ESCAPE_U = Buffer.from('\\u');
const ESCAPE_SLASH = Buffer.from('\\/');
/**
 * Everything up to and including the next bracket, strings taken whole (a bracket in a string is
 * text). Written so that each character can match one way only: no match backtracks more than linearly.
 */
const SKIP_RE = /[^"[\]{}]*(?:"[^"\\]*(?:\\.[^"\\]*)*"[^"[\]{}]*)*[[\]{}]/y;
/**
 * A whole string (one native match) or a bracket, numbers and whitespace: what a copied value is
 * checked on, as JSON.stringify may write numbers and whitespace otherwise.
 */
const STRICT_RE = /"[^"\\]*(?:\\.[^"\\]*)*"|[[\]{}\-0-9 \t\n\r]/g;
const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ASCII_RE = /^[\x20-\x7e]*$/;
/** The meta the store writes (no tags yet): the SUBSETTED tag goes last, as the spread in subsettedMeta puts it. */
const STORED_META_RE = /^\{"versionId":"[^"\\]*","lastUpdated":"[^"\\]*"\}$/;
const SUBSETTED_TAG = `,${JSON.stringify(subsettedMeta({})).slice(1)}`;
/** Keys JSON.parse and Object.entries would treat specially: array indexes go first, `__proto__`. */
const SPECIAL_KEY_RE = /^(?:0|[1-9]\d*|__proto__)$/;
/** Digits JSON.stringify writes as they are read (below 2^53, so exact). */
const SAFE_INTEGER_DIGITS = 15;

/** End (exclusive) of the string whose opening quote is at `at`; -1 when unterminated. */
function stringEnd(s: string, at: number): number {
  for (let i = s.indexOf('"', at + 1); i > 0; i = s.indexOf('"', i + 1)) {
    let slashes = 0;
    while (s.charCodeAt(i - 1 - slashes) === BACKSLASH) slashes++;
    if ((slashes & 1) === 0) return i + 1;
  }
  return -1;
}

/** True when JSON.stringify writes the number s[start, end) exactly as it stands. */
function canonicalNumber(s: string, start: number, end: number): boolean {
  const digits = s.charCodeAt(start) === MINUS ? start + 1 : start;
  if (
    end - digits <= SAFE_INTEGER_DIGITS &&
    !(digits > start && end - digits === 1 && s.charCodeAt(digits) === ZERO)
  ) {
    let plain = true;
    for (let i = digits; plain && i < end; i++) {
      const c = s.charCodeAt(i);
      plain = c >= ZERO && c <= NINE;
    }
    if (plain) return true;
  }
  const text = s.slice(start, end);
  return String(Number(text)) === text;
}

/** End of the number or literal at `at`; -1 for whitespace, or a number `strict` finds not canonical. */
function scalarEnd(s: string, at: number, strict: boolean): number {
  const c = s.charCodeAt(at);
  if (c === MINUS || (c >= ZERO && c <= NINE)) {
    NUMBER_RE.lastIndex = at;
    if (!NUMBER_RE.test(s)) return -1;
    const end = NUMBER_RE.lastIndex;
    return strict && !canonicalNumber(s, at, end) ? -1 : end;
  }
  if (c === 0x74 || c === 0x6e) return at + 4; // true, null
  if (c === 0x66) return at + 5; // false
  return -1;
}

/**
 * End (exclusive) of the JSON value starting at `at`. `strict` also checks that the value is written as
 * JSON.stringify would write it, and answers -1 when not. Strings are not checked: stored rows were
 * parsed when loaded, so they hold no raw control character, and `\u` and `\/` were ruled out before.
 */
function valueEnd(s: string, at: number, strict: boolean): number {
  const first = s.charCodeAt(at);
  if (first === QUOTE) return stringEnd(s, at);
  if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) return scalarEnd(s, at, strict);
  if (!strict) return skippedEnd(s, at);
  const re = STRICT_RE;
  re.lastIndex = at + 1;
  let depth = 1;
  // test() rather than exec(): no match array per match. A match ending in a quote was a string.
  while (re.test(s)) {
    const i = re.lastIndex - 1;
    const c = s.charCodeAt(i);
    if (c === QUOTE) {
      continue;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (--depth === 0) return i + 1;
    } else {
      const end = scalarEnd(s, i, true);
      if (end < 0) return -1;
      re.lastIndex = end;
    }
  }
  return -1;
}

/** End (exclusive) of the object or array at `at`, read only as far as its brackets; -1 when unreadable. */
function skippedEnd(s: string, at: number): number {
  let depth = 1;
  SKIP_RE.lastIndex = at + 1;
  try {
    // One match runs over every string and scalar up to the next bracket.
    while (SKIP_RE.test(s)) {
      const c = s.charCodeAt(SKIP_RE.lastIndex - 1);
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
      else if (--depth === 0) return SKIP_RE.lastIndex;
    }
  } catch {
    // Millions of strings between two brackets overflow the matcher's stack: the parsed path reads them.
  }
  return -1;
}

/** Keys read so far in the row being projected, as [start, length] pairs of its text. */
let keySpans = new Int32Array(2 * 32);
let keyCount = 0;

/** Whether the key s[start, start + length) holds a backslash (an escape JSON.parse would read). */
function hasBackslash(s: string, start: number, length: number): boolean {
  for (let i = start; i < start + length; i++) if (s.charCodeAt(i) === BACKSLASH) return true;
  return false;
}

/** Whether JSON.parse and Object.entries would treat the key specially (SPECIAL_KEY_RE). */
function specialKey(s: string, start: number, length: number): boolean {
  const c = s.charCodeAt(start);
  // Only keys starting with a digit or `_` can match; the others are most keys, and make no string.
  if (!(c >= ZERO && c <= NINE) && !(c === 0x5f && length === 9)) return false;
  return SPECIAL_KEY_RE.test(s.slice(start, start + length));
}

/** Whether the row had this key before (JSON.parse keeps the last), and notes it if not. */
function repeatedKey(s: string, start: number, length: number): boolean {
  for (let k = 0; k < keyCount; k += 2) {
    if (keySpans[k + 1] !== length) continue;
    const other = keySpans[k]!;
    let same = true;
    for (let j = 0; same && j < length; j++) same = s.charCodeAt(start + j) === s.charCodeAt(other + j);
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

/** Above this many names, a kept name is looked up in the set, on a string of the key. */
const MAX_SCANNED_NAMES = 16;
let lastKeep: ReadonlySet<string> | undefined;
let lastNames: string[] | undefined;

/** The keep set as a list to compare keys with in place; undefined when it is too long for that. */
function keptNames(keep: ReadonlySet<string>): string[] | undefined {
  // Consecutive rows are of one type and spec, so the last list is almost always the one.
  if (keep !== lastKeep) {
    lastKeep = keep;
    lastNames = keep.size <= MAX_SCANNED_NAMES ? [...keep] : undefined;
  }
  return lastNames;
}

/** Whether s[start, start + length) is one of `names`. */
function hasName(names: readonly string[], s: string, start: number, length: number): boolean {
  for (const name of names) if (name.length === length && s.startsWith(name, start)) return true;
  return false;
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
  const backslashes = bytes.includes(BACKSLASH);
  if (backslashes && (bytes.includes(ESCAPE_U) || bytes.includes(ESCAPE_SLASH))) return undefined;
  // latin1: one character per byte, so offsets are byte offsets and slices re-encode to the same bytes.
  const s = bytes.toString('latin1');
  if (s.charCodeAt(0) !== OPEN_OBJECT || s.charCodeAt(1) !== QUOTE) return undefined;
  const names = keptNames(keep);
  keyCount = 0;
  let typeStart = -1;
  let typeEnd = -1;
  let hasMeta = false;
  plan.reset();
  for (let i = 1; ;) {
    if (s.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = stringEnd(s, i);
    if (keyEnd < 0 || s.charCodeAt(keyEnd) !== COLON) return undefined;
    // The key is s[i + 1, keyEnd - 1), read in place: no string per key (most rows have a dozen).
    const start = i + 1;
    const length = keyEnd - 1 - start;
    if (backslashes && hasBackslash(s, start, length)) return undefined;
    if (specialKey(s, start, length) || repeatedKey(s, start, length)) return undefined;
    const isType = length === 12 && s.startsWith('resourceType', start);
    const isMeta = length === 4 && s.startsWith('meta', start);
    const nameStart = s.charCodeAt(start) === 0x5f ? start + 1 : start;
    const nameLength = length - (nameStart - start);
    const copied =
      isType ||
      (!isMeta &&
        ((nameLength === 2 && s.startsWith('id', nameStart)) ||
          (names === undefined
            ? keep.has(s.slice(nameStart, nameStart + nameLength))
            : hasName(names, s, nameStart, nameLength))));
    const end = valueEnd(s, keyEnd + 1, copied);
    if (end < 0) return undefined;
    if (isType) {
      typeStart = keyEnd + 1;
      typeEnd = end;
    } else if (isMeta) {
      hasMeta = true;
      if (STORED_META_RE.test(s.slice(keyEnd + 1, end))) {
        plan.storedMeta(keyEnd + 1, end);
      } else {
        const meta = JSON.parse(bytes.toString('utf8', keyEnd + 1, end)) as FhirResource['meta'];
        plan.metaText(metaText(meta));
      }
    } else if (copied) {
      plan.copy(i, end);
    }
    const next = s.charCodeAt(end);
    if (next === CLOSE_OBJECT) {
      if (end + 1 !== s.length) return undefined;
      break;
    }
    if (next !== COMMA) return undefined;
    i = end + 1;
  }
  // resourceType goes first, wherever the stored JSON has it; the keep set was the one of `type`.
  const named =
    typeEnd - typeStart === type.length + 2 &&
    s.charCodeAt(typeStart) === QUOTE &&
    s.startsWith(type, typeStart + 1);
  if (!named) return undefined;
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
