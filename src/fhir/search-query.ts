import { InvalidRequestError, NotSupportedError } from './errors.js';
import { isResourceType } from './resource-types.js';

// Parses one `_typeFilter` value, a FHIR search query such as `Observation?code=a,b&date=ge2020`.
// See https://hl7.org/fhir/R4/search.html and the Bulk Data IG, export.html#_typefilter-experimental-query-parameter.

const PARAM = '_typeFilter';

/** One `name[:modifier]=value[,value]` term of a query: comma values are OR'd. */
export interface SearchClause {
  name: string;
  modifier: string | undefined;
  /** Percent-decoded values split at unescaped commas; FHIR `\` escapes are still in place. */
  values: string[];
}

/** A parsed single-type search query: its clauses are AND'd. */
export interface SearchQuery {
  resourceType: string;
  clauses: SearchClause[];
}

/**
 * Result and control parameters that the Bulk Data IG forbids in `_typeFilter`
 * (export.html: "_sort, _include, _elements... SHALL NOT be used").
 */
const FORBIDDEN_PARAMS = new Set([
  '_sort',
  '_include',
  '_revinclude',
  '_count',
  '_elements',
  '_summary',
  '_total',
  '_contained',
  '_containedType',
]);

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** An InvalidRequestError for `_typeFilter`. */
export function invalidFilter(message: string, cause?: unknown): InvalidRequestError {
  return new InvalidRequestError(`${PARAM}: ${message}`, { expression: PARAM, cause });
}

/** A NotSupportedError for `_typeFilter`. */
export function unsupportedFilter(message: string): NotSupportedError {
  return new NotSupportedError(`${PARAM}: ${message}`, { expression: PARAM });
}

/** Splits `text` at each `separator` not escaped by a backslash; the parts keep their escapes. */
export function splitEscaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** How many parts `splitEscaped(text, separator)` would return, without making them. */
export function countEscaped(text: string, separator: string): number {
  let count = 1;
  if (!text.includes('\\')) {
    // indexOf is several times faster than a loop over characters on megabyte values.
    for (let i = text.indexOf(separator); i >= 0; i = text.indexOf(separator, i + 1)) count++;
    return count;
  }
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === separator) count++;
  }
  return count;
}

/** Removes FHIR search escapes (`\,` `\|` `\$` `\\`). */
export function unescapeSearch(text: string): string {
  return text.includes('\\') ? text.replace(/\\(.)/g, '$1') : text;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch (err) {
    throw invalidFilter(`${what} '${text}' has a malformed percent-encoding`, err);
  }
}

/**
 * Parses the part before `?`: a bare resource type. Compartment contexts (`Patient/1/Observation`),
 * URLs and the all-types context (`?code=x`) are not allowed (export.html, `_typeFilter`).
 */
function parseContext(context: string, query: string): string {
  if (context === '') throw invalidFilter(`'${query}' has no resource type before '?'`);
  if (context.includes('/')) {
    throw invalidFilter(`'${query}' must use a single resource type context, not a compartment or URL`);
  }
  if (!isResourceType(context)) throw invalidFilter(`unknown resource type '${context}' in '${query}'`);
  return context;
}

/** Rejects keys that name a forbidden, chained or reverse-chained parameter. */
function parseKey(key: string): { name: string; modifier: string | undefined } {
  const colon = key.indexOf(':');
  const name = colon < 0 ? key : key.slice(0, colon);
  const modifier = colon < 0 ? undefined : key.slice(colon + 1);
  if (FORBIDDEN_PARAMS.has(name)) throw invalidFilter(`parameter '${name}' is not allowed in a type filter`);
  if (name === '_has') throw unsupportedFilter(`reverse chaining '${key}' is not supported`);
  if (key.includes('.')) throw unsupportedFilter(`chained parameter '${key}' is not supported`);
  if (!NAME_RE.test(name)) throw invalidFilter(`'${key}' is not a valid search parameter name`);
  if (modifier !== undefined && !NAME_RE.test(modifier)) {
    throw unsupportedFilter(`modifier '${modifier}' on parameter '${name}' is not supported`);
  }
  return { name, modifier };
}

function parseClause(term: string, query: string): SearchClause {
  const eq = term.indexOf('=');
  if (eq <= 0) throw invalidFilter(`'${term}' in '${query}' is not a name=value pair`);
  const key = decode(term.slice(0, eq), 'parameter name');
  const { name, modifier } = parseKey(key);
  const raw = decode(term.slice(eq + 1), `value of '${key}'`);
  const values = splitEscaped(raw, ',');
  if (values.some((v) => v === '')) throw invalidFilter(`parameter '${key}' has an empty value`);
  return { name, modifier, values };
}

/**
 * Parses one search query `Type?name=value&...`. Values may be percent-encoded; a `+` is kept as is
 * because it is far more often a timezone offset than an encoded space.
 * @throws InvalidRequestError for a malformed query, an unknown type or a forbidden parameter
 * @throws NotSupportedError for chained (`a.b=`) and reverse-chained (`_has`) parameters
 */
export function parseSearchQuery(query: string): SearchQuery {
  const mark = query.indexOf('?');
  if (mark < 0) throw invalidFilter(`'${query}' is not a search query of the form Type?name=value`);
  const resourceType = parseContext(query.slice(0, mark), query);
  const terms = query.slice(mark + 1).split('&');
  if (terms.every((t) => t === '')) throw invalidFilter(`'${query}' has no search parameters`);
  // A malformed term is reported before an unsupported one, whatever their order: lenient handling
  // drops a query only for features it does not support, never for a syntax error.
  const clauses: SearchClause[] = [];
  let unsupported: NotSupportedError | undefined;
  for (const term of terms) {
    if (term === '') continue;
    try {
      clauses.push(parseClause(term, query));
    } catch (err) {
      if (!(err instanceof NotSupportedError)) throw err;
      unsupported ??= err;
    }
  }
  if (unsupported) throw unsupported;
  return { resourceType, clauses };
}

/**
 * Expands the values of `_typeFilter` into single queries. Bulk Data v1/v2 clients may join several
 * URL-encoded queries with commas; a comma only separates queries when a `Type?` follows it, so
 * commas inside one query (OR'd values) stay put (spec notes, "_typeFilter comma semantics").
 */
export function splitTypeFilterValues(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    const text = !value.includes('?') && /%3F/i.test(value) ? decode(value, 'type filter') : value;
    out.push(...text.split(/,(?=\s*[A-Z][A-Za-z]+\?)/).map((q) => q.trim()));
  }
  return out;
}

/**
 * The parameter of one query `Type?name=value&...` with the most OR'd (comma) values, counted as
 * parseSearchQuery would split them, in one pass and without validating anything: for checking a
 * limit before the query is parsed. Undefined when the query has no `name=value` term.
 */
export function widestClause(query: string): { name: string; values: number } | undefined {
  const mark = query.indexOf('?');
  if (mark < 0) return undefined;
  let widest: { name: string; values: number } | undefined;
  for (const term of query.slice(mark + 1).split('&')) {
    const eq = term.indexOf('=');
    if (eq <= 0) continue;
    const values = countEscaped(decodeOrKeep(term.slice(eq + 1)), ',');
    if (widest === undefined || values > widest.values) {
      widest = { name: decodeOrKeep(term.slice(0, eq)), values };
    }
  }
  return widest;
}

/** `text` percent-decoded, or as it is when the encoding is malformed (parseSearchQuery reports that). */
function decodeOrKeep(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
