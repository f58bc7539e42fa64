import { isUtf8 } from 'node:buffer';

/**
 * A JSON validator (RFC 8259 grammar, UTF-8 text) over bytes, for verifying NDJSON lines without
 * building objects, and reading the top-level `resourceType` on the way.
 *
 * It is a flat loop over a byte-class table: no call per value, no allocation per value, and string
 * bodies (most of a FHIR line's bytes) are skipped by a one-lookup-per-byte loop that needs no bounds
 * check, because the byte after a line is its newline (a control byte, which stops the loop) or past
 * the buffer's end (undefined, which stops it too). UTF-8 validity is checked natively per line.
 */

/** The outcome of checking one line. */
export type JsonCheck =
  | { ok: true; blank: boolean; isObject: boolean; resourceType: string | undefined }
  | { ok: false; at: number };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OBJECT = 1;
const ARRAY = 2;
const RESOURCE_TYPE = Buffer.from('resourceType');

/** 1 for bytes that end a run of plain string bytes: `"`, `\` and the control bytes. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[QUOTE] = 1;
STRING_STOP[BACKSLASH] = 1;

/** 1 for JSON whitespace. */
const WS = new Uint8Array(256);
for (const c of [0x20, 0x0a, 0x0d, 0x09]) WS[c] = 1;

/** 1 for bytes allowed after a backslash in a string: " \ / b f n r t (u is handled apart). */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

const DIGIT = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) DIGIT[c] = 1;

const BLANK: JsonCheck = Object.freeze({ ok: true, blank: true, isObject: false, resourceType: undefined });

/** The open containers; shared by every call (checks never run concurrently) and grown when needed. */
let stack = new Uint8Array(256);

/** The index after the closing quote of the string whose opening quote is at `i`, or -1. */
function scanString(buf: Uint8Array, i: number, end: number): number {
  let j = i + 1;
  for (;;) {
    // No bounds check: the byte at `end` is a newline or undefined, and both stop the loop.
    while (STRING_STOP[buf[j] as number] === 0) j++;
    if (j >= end) return -1;
    const c = buf[j] as number;
    if (c === QUOTE) return j + 1;
    if (c !== BACKSLASH) return -1;
    const e = buf[j + 1] as number;
    if (j + 1 >= end) return -1;
    if (e === 0x75) {
      if (j + 5 >= end) return -1;
      if (
        HEX[buf[j + 2] as number] !== 1 ||
        HEX[buf[j + 3] as number] !== 1 ||
        HEX[buf[j + 4] as number] !== 1 ||
        HEX[buf[j + 5] as number] !== 1
      )
        return -1;
      j += 6;
    } else if (SIMPLE_ESCAPE[e] === 1) {
      j += 2;
    } else {
      return -1;
    }
  }
}

/** The index after the number starting at `i`, or -1. */
function scanNumber(buf: Uint8Array, i: number, end: number): number {
  if (buf[i] === 0x2d) i++;
  if (i >= end) return -1;
  const first = buf[i] as number;
  if (first === 0x30) i++;
  else if (first >= 0x31 && first <= 0x39) {
    i++;
    while (i < end && DIGIT[buf[i] as number] === 1) i++;
  } else return -1;
  if (i < end && buf[i] === 0x2e) {
    const j = ++i;
    while (i < end && DIGIT[buf[i] as number] === 1) i++;
    if (i === j) return -1;
  }
  if (i < end && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) i++;
    const j = i;
    while (i < end && DIGIT[buf[i] as number] === 1) i++;
    if (i === j) return -1;
  }
  return i;
}

/** The index after `true`, `false` or `null` at `i`, or -1. */
function scanLiteral(buf: Uint8Array, i: number, end: number): number {
  const c = buf[i];
  if (c === 0x74) {
    return i + 4 <= end && buf[i + 1] === 0x72 && buf[i + 2] === 0x75 && buf[i + 3] === 0x65 ? i + 4 : -1;
  }
  if (c === 0x66) {
    return i + 5 <= end &&
      buf[i + 1] === 0x61 &&
      buf[i + 2] === 0x6c &&
      buf[i + 3] === 0x73 &&
      buf[i + 4] === 0x65
      ? i + 5
      : -1;
  }
  if (c === 0x6e) {
    return i + 4 <= end && buf[i + 1] === 0x75 && buf[i + 2] === 0x6c && buf[i + 3] === 0x6c ? i + 4 : -1;
  }
  return -1;
}

function isResourceTypeKey(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start !== RESOURCE_TYPE.length) return false;
  for (let k = 0; k < RESOURCE_TYPE.length; k++) if (buf[start + k] !== RESOURCE_TYPE[k]) return false;
  return true;
}

/** The last `resourceType` value decoded, by its raw bytes: a file's lines nearly all repeat it. */
let lastRaw: Uint8Array = new Uint8Array(0);
let lastText = '';

/**
 * The value of the JSON string whose quotes are at `start` and `end - 1` (a checked string), decoded
 * again only when its bytes differ from the last call's.
 */
export function readJsonString(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === lastRaw.length) {
    let same = true;
    for (let k = 0; k < n; k++) {
      if (buf[start + k] !== lastRaw[k]) {
        same = false;
        break;
      }
    }
    if (same) return lastText;
  }
  const raw = buf.slice(start, end);
  const text = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, n).toString('utf8')) as string;
  lastRaw = raw;
  lastText = text;
  return text;
}

/**
 * Check that `buf[start, end)` holds one JSON value (surrounding whitespace allowed) in valid UTF-8,
 * and read the string value of a top-level `resourceType` key (the last one, as JSON.parse keeps it).
 * A blank range is reported as `blank`.
 */
export function checkJson(buf: Uint8Array, start: number, end: number): JsonCheck {
  let i = start;
  while (i < end && WS[buf[i] as number] === 1) i++;
  if (i === end) return BLANK;
  const isObject = buf[i] === OPEN_OBJECT;
  let depth = 0;
  let resourceType: string | undefined;
  // Each turn reads one value at `i` (whitespace skipped), then the commas, closers and keys after it.
  for (;;) {
    const valueStart = i;
    const c = buf[i] as number;
    let expectKey = false;
    if (c === QUOTE) {
      i = scanString(buf, i, end);
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      i++;
      while (i < end && WS[buf[i] as number] === 1) i++;
      if (buf[i] === (c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY) && i < end) {
        i++;
      } else {
        if (depth === stack.length) {
          const grown = new Uint8Array(stack.length * 2);
          grown.set(stack);
          stack = grown;
        }
        stack[depth++] = c === OPEN_OBJECT ? OBJECT : ARRAY;
        if (c === OPEN_OBJECT) expectKey = true;
        else continue;
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      i = scanNumber(buf, i, end);
    } else {
      i = scanLiteral(buf, i, end);
    }
    if (i < 0) return { ok: false, at: valueStart - start };
    // After a value: closers and commas, until a key or a value is due.
    while (!expectKey) {
      while (i < end && WS[buf[i] as number] === 1) i++;
      if (depth === 0) {
        if (i === end) return { ok: true, blank: false, isObject, resourceType };
        return { ok: false, at: i - start };
      }
      if (i >= end) return { ok: false, at: i - start };
      const d = buf[i] as number;
      const top = stack[depth - 1];
      if (d === COMMA) {
        i++;
        if (top === OBJECT) expectKey = true;
        else {
          while (i < end && WS[buf[i] as number] === 1) i++;
          if (i >= end) return { ok: false, at: i - start };
          break;
        }
      } else if ((d === CLOSE_OBJECT && top === OBJECT) || (d === CLOSE_ARRAY && top === ARRAY)) {
        depth--;
        i++;
      } else {
        return { ok: false, at: i - start };
      }
    }
    if (expectKey) {
      while (i < end && WS[buf[i] as number] === 1) i++;
      if (i >= end || buf[i] !== QUOTE) return { ok: false, at: i - start };
      const keyStart = i;
      i = scanString(buf, i, end);
      if (i < 0) return { ok: false, at: keyStart - start };
      const topKey = depth === 1 && isResourceTypeKey(buf, keyStart + 1, i - 1);
      while (i < end && WS[buf[i] as number] === 1) i++;
      if (i >= end || buf[i] !== COLON) return { ok: false, at: i - start };
      i++;
      while (i < end && WS[buf[i] as number] === 1) i++;
      if (i >= end) return { ok: false, at: i - start };
      if (topKey) {
        if (buf[i] === QUOTE) {
          const valueEnd = scanString(buf, i, end);
          if (valueEnd < 0) return { ok: false, at: i - start };
          resourceType = readJsonString(buf, i, valueEnd);
        } else {
          // JSON.parse keeps the last value of a repeated key: a later non-string one wins.
          resourceType = undefined;
        }
      }
    }
  }
}

/**
 * Check a line as {@link checkJson} does, and also that it is valid UTF-8 (RFC 8259 §8.1), which
 * JSON.parse of a decoded string cannot tell: decoding replaces bad bytes with U+FFFD.
 */
export function checkJsonLine(buf: Uint8Array, start: number, end: number): JsonCheck {
  const result = checkJson(buf, start, end);
  if (!result.ok) return result;
  // The grammar check passed, so any byte >= 0x80 sits inside a string; isUtf8 is native and fast.
  if (!isUtf8(buf.subarray(start, end))) return { ok: false, at: firstBadUtf8(buf, start, end) - start };
  return result;
}

/** The index of the first byte of an invalid UTF-8 sequence in `buf[start, end)` (for messages only). */
function firstBadUtf8(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = buf[i] as number;
    const n =
      c < 0x80
        ? 0
        : c >= 0xc2 && c <= 0xdf
          ? 1
          : c >= 0xe0 && c <= 0xef
            ? 2
            : c >= 0xf0 && c <= 0xf4
              ? 3
              : -1;
    if (n < 0 || i + n >= end) return i;
    if (n > 0 && !isUtf8(buf.subarray(i, i + n + 1))) return i;
    i += n + 1;
  }
  return end;
}
