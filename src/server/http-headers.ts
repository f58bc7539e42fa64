import { InvalidRequestError, readPreferences } from '../fhir/index.js';

/** The weak ETag FHIR uses for a version: `W/"3"` (R4 http.html#versioning). */
export function formatEtag(versionId: number): string {
  return `W/"${versionId}"`;
}

/** An HTTP-date for Last-Modified. */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

const IF_MATCH_RE = /^(?:W\/)?"([1-9]\d{0,15})"$/;

/**
 * The version number in an If-Match header (`W/"3"` or `"3"`), or undefined when there is none.
 * @throws InvalidRequestError when the header is present but is not a single version ETag.
 */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header.join(',') : header).trim();
  const m = IF_MATCH_RE.exec(value);
  if (!m?.[1]) {
    throw new InvalidRequestError(`If-Match must be a version ETag such as W/"3", got '${value}'`, {
      expression: 'If-Match',
    });
  }
  return Number(m[1]);
}

/** The preferences fhirhose honours from a Prefer header (RFC 7240). */
export interface Preferences {
  handling?: 'strict' | 'lenient';
  return?: 'minimal' | 'representation' | 'OperationOutcome';
}

type ReturnPreference = NonNullable<Preferences['return']>;
const RETURN_VALUES: readonly string[] = ['minimal', 'representation', 'OperationOutcome'];

function isReturnPreference(word: string): word is ReturnPreference {
  return RETURN_VALUES.includes(word);
}

/**
 * Parse a Prefer header with the one shared parser: quoted words, the first of a repeated preference
 * wins, unknown preferences and values are ignored, as RFC 7240 asks.
 */
export function parsePrefer(header: string | string[] | undefined): Preferences {
  const read = readPreferences(header);
  const prefs: Preferences = {};
  const handling = read.get('handling')?.toLowerCase();
  if (handling === 'strict' || handling === 'lenient') prefs.handling = handling;
  const ret = read.get('return');
  if (ret !== undefined && isReturnPreference(ret)) prefs.return = ret;
  return prefs;
}
