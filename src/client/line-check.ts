import { checkJson, readJsonString } from './json-check.js';
import type { JsonCheck } from './json-check.js';

/**
 * The default line check (`verify: 'lines'`): the shape of an NDJSON resource line without walking
 * its JSON grammar. A line is trimmed of JSON whitespace, must open with `{` and close with `}`, and
 * its first key must be `resourceType` with a plain string value, read straight from the bytes.
 * A line whose first key is something else, or whose type holds an escape, gets the full grammar
 * check instead (json-check.ts), so the type is never guessed. UTF-8 validity is checked by the
 * caller, per chunk. Per line this touches a few dozen bytes, where the full check reads them all:
 * measured on the generated data, the full check was most of the client's CPU (docs/benchmarks.md).
 */

const QUOTE = 0x22;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const KEY = Buffer.from('"resourceType"');

/** 1 for JSON whitespace. */
const WS = new Uint8Array(256);
for (const c of [0x20, 0x0a, 0x0d, 0x09]) WS[c] = 1;

/** 1 for bytes that end a plain run of string bytes: `"`, `\` and the control bytes. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[QUOTE] = 1;
STRING_STOP[0x5c] = 1;

const BLANK: JsonCheck = Object.freeze({ ok: true, blank: true, isObject: false, resourceType: undefined });

function startsWithKey(buf: Uint8Array, i: number, end: number): boolean {
  if (end - i < KEY.length) return false;
  for (let k = 0; k < KEY.length; k++) if (buf[i + k] !== KEY[k]) return false;
  return true;
}

/**
 * Check the shape of the line `buf[start, end)`: blank, or `{` … `}` whose first key is
 * `resourceType` with a plain string value. Any other line (a failure included) gets the full check,
 * so it reports exactly as {@link checkJson} does: the verifier treats both checks alike.
 */
export function checkLineShape(buf: Uint8Array, start: number, end: number): JsonCheck {
  let i = start;
  let last = end;
  while (i < last && WS[buf[i] as number] === 1) i++;
  if (i === last) return BLANK;
  while (WS[buf[last - 1] as number] === 1) last--;
  if (buf[i] !== OPEN_OBJECT || buf[last - 1] !== CLOSE_OBJECT || last - i < 2)
    return checkJson(buf, start, end);
  i++;
  while (i < last && WS[buf[i] as number] === 1) i++;
  if (!startsWithKey(buf, i, last)) return checkJson(buf, start, end);
  i += KEY.length;
  while (i < last && WS[buf[i] as number] === 1) i++;
  if (buf[i] !== COLON) return checkJson(buf, start, end);
  i++;
  while (i < last && WS[buf[i] as number] === 1) i++;
  if (buf[i] !== QUOTE) return checkJson(buf, start, end);
  const valueStart = i;
  i++;
  while (i < last && STRING_STOP[buf[i] as number] === 0) i++;
  // An escape or a control byte in the type, or no closing quote: rare, left to the full check.
  if (i >= last || buf[i] !== QUOTE) return checkJson(buf, start, end);
  return { ok: true, blank: false, isObject: true, resourceType: readJsonString(buf, valueStart, i + 1) };
}
