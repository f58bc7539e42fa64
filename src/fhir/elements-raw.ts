import { elementsKeepSet, subsettedMeta } from './elements.js';
import type { ElementsSpec } from './elements.js';
import type { FhirResource } from './resource.js';

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
const OPEN = Buffer.from('{"resourceType":');
const SEP = Buffer.from(',');
const META_KEY = Buffer.from(',"meta":');
const CLOSE = Buffer.from('}');
const EMPTY = Buffer.alloc(0);
/** Keys JSON.parse and Object.entries would treat specially: array indexes go first, `__proto__`. */
const SPECIAL_KEY_RE = /^(?:0|[1-9]\d*|__proto__)$/;
/** Digits JSON.stringify writes as they are read (below 2^53, so exact). */
const SAFE_INTEGER_DIGITS = 15;

/** True for the bytes that end a number or literal: `,` `]` `}` `:` and JSON whitespace. */
function endsScalar(c: number): boolean {
  return c === COMMA || c === CLOSE_ARRAY || c === CLOSE_OBJECT || c === COLON || c <= 0x20;
}

/** End (exclusive) of the string whose opening quote is at `at`; -1 when unterminated. */
function stringEnd(b: Buffer, at: number): number {
  for (let i = at + 1; i < b.length; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) i++;
  }
  return -1;
}

/** stringEnd, or -1 when the string holds a raw control character (JSON.parse refuses those). */
function strictStringEnd(b: Buffer, at: number): number {
  for (let i = at + 1; i < b.length; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) i++;
    else if (c < 0x20) return -1;
  }
  return -1;
}

/** True when JSON.stringify writes the number or literal in b[start, end) exactly as it stands. */
function canonicalScalar(b: Buffer, start: number, end: number): boolean {
  const first = b[start]!;
  if (first !== MINUS && (first < ZERO || first > NINE)) return end > start; // true, false, null
  const digits = first === MINUS ? start + 1 : start;
  if (end - digits <= SAFE_INTEGER_DIGITS && end > digits && (b[digits] !== ZERO || end - digits === 1)) {
    let plain = first !== MINUS || b[digits] !== ZERO; // -0 is written 0
    for (let i = digits; plain && i < end; i++) plain = b[i]! >= ZERO && b[i]! <= NINE;
    if (plain) return true;
  }
  const text = b.toString('latin1', start, end);
  return String(Number(text)) === text;
}

/**
 * End (exclusive) of the JSON value starting at `at`. `strict` also checks that the value is written as
 * JSON.stringify would write it, and answers -1 when not (or when the JSON is malformed).
 */
function valueEnd(b: Buffer, at: number, strict: boolean): number {
  let depth = 0;
  let i = at;
  while (i < b.length) {
    const c = b[i]!;
    if (c === QUOTE) {
      i = strict ? strictStringEnd(b, i) : stringEnd(b, i);
      if (i < 0) return -1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      i++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
      i++;
      if (depth < 0) return -1;
    } else if (depth > 0 && (c === COMMA || c === COLON)) {
      i++;
    } else if (!strict && depth > 0) {
      i++;
    } else {
      let j = i;
      while (j < b.length && !endsScalar(b[j]!)) j++;
      if (j === i || (strict && !canonicalScalar(b, i, j))) return -1;
      i = j;
    }
    if (depth === 0) return i;
  }
  return -1;
}

/**
 * Applies `_elements` to one resource given as its stored UTF-8 JSON, without parsing it.
 * @param bytes - the resource's JSON, nothing before or after it
 * @param type - its resource type
 * @param spec - from parseElements
 * @returns the projected JSON; null when `spec` lists nothing for the type (export it whole); undefined
 *   when the bytes are not written as JSON.stringify would write them (project the parsed resource)
 */
export function projectElementsRaw(
  bytes: Buffer,
  type: string,
  spec: ElementsSpec,
): Buffer | null | undefined {
  const keep = elementsKeepSet(type, spec);
  if (keep === null) return null;
  if (bytes.includes(BACKSLASH) && (bytes.includes(ESCAPE_U) || bytes.includes(ESCAPE_SLASH))) {
    return undefined;
  }
  if (bytes[0] !== OPEN_OBJECT) return undefined;
  // resourceType goes first, wherever the stored JSON has it.
  const parts: Buffer[] = [OPEN, EMPTY];
  const seen = new Set<string>();
  let hasMeta = false;
  let i = 1;
  if (bytes[i] === CLOSE_OBJECT) return undefined;
  for (;;) {
    if (bytes[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(bytes, i);
    if (keyEnd < 0 || bytes[keyEnd] !== COLON) return undefined;
    const key = bytes.toString('utf8', i + 1, keyEnd - 1);
    if (key.includes('\\') || SPECIAL_KEY_RE.test(key) || seen.has(key)) return undefined;
    seen.add(key);
    const name = key.startsWith('_') ? key.slice(1) : key;
    const copied = key === 'resourceType' || (key !== 'meta' && (name === 'id' || keep.has(name)));
    const end = valueEnd(bytes, keyEnd + 1, copied);
    if (end < 0) return undefined;
    if (key === 'resourceType') {
      if (bytes.toString('utf8', keyEnd + 1, end) !== JSON.stringify(type)) return undefined;
      parts[1] = bytes.subarray(keyEnd + 1, end);
    } else if (key === 'meta') {
      hasMeta = true;
      const meta = JSON.parse(bytes.toString('utf8', keyEnd + 1, end)) as FhirResource['meta'];
      parts.push(META_KEY, Buffer.from(JSON.stringify(subsettedMeta(meta))));
    } else if (copied) {
      parts.push(SEP, bytes.subarray(i, end));
    }
    if (bytes[end] === CLOSE_OBJECT) {
      if (end + 1 !== bytes.length || parts[1] === EMPTY) return undefined;
      break;
    }
    if (bytes[end] !== COMMA) return undefined;
    i = end + 1;
  }
  if (!hasMeta) parts.push(META_KEY, Buffer.from(JSON.stringify(subsettedMeta(undefined))));
  parts.push(CLOSE);
  return Buffer.concat(parts);
}
