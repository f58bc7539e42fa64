// Reading JSON values in UTF-8 bytes without decoding them: where each value ends, and whether it is
// written as JSON.stringify would write it. The byte projection (elements-raw.ts) skips the members it
// drops and checks the ones it copies with these. One loop over the bytes per value, no regex and no
// string: a regex needs the bytes as a string first (a copy of every row), and each match call costs
// more than the short strings and scalars of a FHIR resource take to walk.

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const OPEN_OBJECT = 0x7b;
export const CLOSE_OBJECT = 0x7d;
export const OPEN_ARRAY = 0x5b;
export const CLOSE_ARRAY = 0x5d;
export const COMMA = 0x2c;
export const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const SMALL_E = 0x65;
const CAPITAL_E = 0x45;
const SMALL_U = 0x75;
const SLASH = 0x2f;
/** Digits JSON.stringify writes as they are read (below 2^53, so exact). */
const SAFE_INTEGER_DIGITS = 15;

/** What a byte is to a scan: most bytes are nothing, and one table load tells. */
const OTHER = 0;
const STRING = 1;
const OPEN = 2;
const CLOSE = 3;
const NUMBER = 4;
const SPACE = 5;

/** Byte classes for skipping: only strings and brackets matter. */
const SKIP_CLASS = new Uint8Array(256);
/** Byte classes for a copied value: numbers and whitespace are checked too. */
const STRICT_CLASS = new Uint8Array(256);
for (const table of [SKIP_CLASS, STRICT_CLASS]) {
  table[QUOTE] = STRING;
  table[OPEN_OBJECT] = OPEN;
  table[OPEN_ARRAY] = OPEN;
  table[CLOSE_OBJECT] = CLOSE;
  table[CLOSE_ARRAY] = CLOSE;
}
STRICT_CLASS[MINUS] = NUMBER;
for (let c = ZERO; c <= NINE; c++) STRICT_CLASS[c] = NUMBER;
for (const c of [0x20, 0x09, 0x0a, 0x0d]) STRICT_CLASS[c] = SPACE;

/** End (exclusive) of the string whose opening quote is at `at`; -1 when unterminated. */
export function stringEnd(b: Uint8Array, at: number): number {
  const n = b.length;
  // Quotes only, one compare a byte: a quote ends the string unless an odd run of backslashes escapes it.
  for (let i = at + 1; i < n; i++) {
    if (b[i] !== QUOTE) continue;
    let slashes = 0;
    while (b[i - 1 - slashes] === BACKSLASH) slashes++;
    if ((slashes & 1) === 0) return i + 1;
  }
  return -1;
}

/**
 * End (exclusive) of the string at `at`; -1 when unterminated or when it holds an escape JSON.stringify
 * writes otherwise (`\u`, which it writes as the character, and `\/`).
 */
function strictStringEnd(b: Uint8Array, at: number): number {
  const n = b.length;
  for (let i = at + 1; i < n; i++) {
    const c = b[i];
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      const next = b[++i];
      if (next === SMALL_U || next === SLASH) return -1;
    }
  }
  return -1;
}

/** End of the digits from `at` (at least one), or -1. */
function digitsEnd(b: Uint8Array, at: number): number {
  let i = at;
  for (let c = b[i]; c !== undefined && c >= ZERO && c <= NINE; c = b[++i]);
  return i > at ? i : -1;
}

/** End of the JSON number at `at`, read as far as the grammar goes; -1 when none starts there. */
function numberEnd(b: Uint8Array, at: number): number {
  let i = b[at] === MINUS ? at + 1 : at;
  if (b[i] === ZERO) i++;
  else if ((i = digitsEnd(b, i)) < 0) return -1;
  if (b[i] === DOT) {
    const end = digitsEnd(b, i + 1);
    if (end < 0) return i;
    i = end;
  }
  const e = b[i];
  if (e === SMALL_E || e === CAPITAL_E) {
    const sign = b[i + 1] === PLUS || b[i + 1] === MINUS ? 1 : 0;
    const end = digitsEnd(b, i + 1 + sign);
    if (end >= 0) i = end;
  }
  return i;
}

/** True when JSON.stringify writes the number b[start, end) exactly as it stands. */
function canonicalNumber(b: Uint8Array, start: number, end: number): boolean {
  const digits = b[start] === MINUS ? start + 1 : start;
  if (end - digits <= SAFE_INTEGER_DIGITS && !(digits > start && end - digits === 1 && b[digits] === ZERO)) {
    let plain = true;
    for (let i = digits; plain && i < end; i++) {
      const c = b[i]!;
      plain = c >= ZERO && c <= NINE;
    }
    if (plain) return true;
  }
  // Fractions and exponents: rare in the members a projection keeps, so a string is fine here.
  const text = Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
  return String(Number(text)) === text;
}

/** End of the number or literal at `at`; -1 for whitespace, or a number `strict` finds not canonical. */
function scalarEnd(b: Uint8Array, at: number, strict: boolean): number {
  const c = b[at];
  if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) {
    const end = numberEnd(b, at);
    if (end < 0) return -1;
    return strict && !canonicalNumber(b, at, end) ? -1 : end;
  }
  if (c === 0x74 || c === 0x6e) return at + 4; // true, null
  if (c === 0x66) return at + 5; // false
  return -1;
}

/** End (exclusive) of the object or array at `at`, read only as far as its brackets; -1 when unreadable. */
function skippedEnd(b: Uint8Array, at: number): number {
  const n = b.length;
  let depth = 1;
  for (let i = at + 1; i < n; i++) {
    const kind = SKIP_CLASS[b[i]!];
    if (kind === OTHER) continue;
    if (kind === STRING) {
      i = stringEnd(b, i) - 1;
      if (i < 0) return -1;
    } else if (kind === OPEN) {
      depth++;
    } else if (--depth === 0) {
      return i + 1;
    }
  }
  return -1;
}

/** End (exclusive) of the object or array at `at`, or -1 when JSON.stringify would write it otherwise. */
function strictCompositeEnd(b: Uint8Array, at: number): number {
  const n = b.length;
  let depth = 1;
  for (let i = at + 1; i < n;) {
    const kind = STRICT_CLASS[b[i]!];
    if (kind === OTHER) {
      i++;
    } else if (kind === STRING) {
      i = strictStringEnd(b, i);
      if (i < 0) return -1;
    } else if (kind === OPEN) {
      depth++;
      i++;
    } else if (kind === CLOSE) {
      if (--depth === 0) return i + 1;
      i++;
    } else if (kind === NUMBER) {
      i = scalarEnd(b, i, true);
      if (i < 0) return -1;
    } else {
      return -1;
    }
  }
  return -1;
}

/**
 * End (exclusive) of the JSON value starting at `at`. `strict` also checks that the value is written as
 * JSON.stringify would write it, and answers -1 when not. Strings hold no raw control character: stored
 * rows were parsed when loaded.
 */
export function valueEnd(b: Uint8Array, at: number, strict: boolean): number {
  const first = b[at];
  if (first === QUOTE) return strict ? strictStringEnd(b, at) : stringEnd(b, at);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY)
    return strict ? strictCompositeEnd(b, at) : skippedEnd(b, at);
  return scalarEnd(b, at, strict);
}
