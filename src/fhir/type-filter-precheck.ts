import { storedValueTypes } from './search-extract.js';
import { findSearchParam } from './search-param-table.js';
import type { SearchParamDefinition } from './search-param-table.js';
import { parseSearchQuery, splitEscaped, splitTypeFilterValues, unescapeSearch } from './search-query.js';
import type { SearchClause, SearchQuery } from './search-query.js';

// A cheap test on a resource's stored JSON bytes that rejects most rows a `_typeFilter` cannot match,
// before they are parsed. It only ever says "cannot match" when a value the query needs is absent
// from the bytes; every row it lets through is parsed and evaluated by compileTypeFilters.

/** False only when the resource whose UTF-8 JSON is `bytes` cannot match; true means "parse and test it". */
export type RawPrecheck = (bytes: Buffer) => boolean;

const ABSOLUTE_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const RELATIVE_RE = /^[A-Z][A-Za-z]+\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;
const HISTORY_RE = /\/_history\/[^/]+$/;
/** Texts that String(number) could make: a token on a JSON number may be written otherwise (`1e2`). */
const NUMBER_LIKE_RE = /^[-+.0-9e]+$/i;
const NUMBER_TYPES = new Set(['decimal', 'integer', 'integer64', 'positiveInt', 'unsignedInt']);
/** Characters JSON writes escaped (quote, backslash) or may (lone surrogates); controls are checked apart. */
const ESCAPED_RE = /["\\]|\p{Cs}/u;
const BACKSLASH = 0x5c;
const ESCAPE_U = Buffer.from('\\u');
const ESCAPE_SLASH = Buffer.from('\\/');

/** A text a matching value must contain, as UTF-8; undefined when there is none safe to look for. */
function needle(text: string | undefined): Buffer | undefined {
  if (text === undefined || text === '' || ESCAPED_RE.test(text)) return undefined;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20) return undefined;
  return Buffer.from(text, 'utf8');
}

function tokenNeedle(raw: string, numbers: boolean): Buffer | undefined {
  const parts = splitEscaped(raw, '|').map(unescapeSearch);
  if (parts.length > 2) return undefined;
  const [first = '', second] = parts;
  // `code` and `system|code` need the code (a primitive code has no system); `system|` the system.
  const text = second === undefined ? first : second === '' ? first : second;
  return numbers && NUMBER_LIKE_RE.test(text) ? undefined : needle(text);
}

function referenceNeedle(raw: string): Buffer | undefined {
  const text = unescapeSearch(raw);
  if (ABSOLUTE_RE.test(text)) return needle(text.replace(HISTORY_RE, ''));
  // A local reference matches on its id, whatever form (relative or absolute) the stored one has.
  return needle(RELATIVE_RE.exec(text)?.[1] ?? text);
}

/** The longest run without spaces: `:exact` also matches a HumanName or Address joined with spaces. */
function longestWord(text: string): string | undefined {
  let best = '';
  for (const word of text.split(' ')) if (word.length > best.length) best = word;
  return best === '' ? undefined : best;
}

function valueNeedle(
  def: SearchParamDefinition,
  modifier: string | undefined,
  raw: string,
  numbers: boolean,
): Buffer | undefined {
  switch (def.type) {
    case 'token':
      return modifier === undefined ? tokenNeedle(raw, numbers) : undefined;
    case 'reference':
      if (modifier === 'identifier') return tokenNeedle(raw, false);
      return modifier === undefined || /^[A-Z]/.test(modifier) ? referenceNeedle(raw) : undefined;
    case 'uri':
      return modifier === undefined || modifier === 'below' ? needle(unescapeSearch(raw)) : undefined;
    case 'string':
      // The default match ignores case and accents, which bytes cannot show.
      return modifier === 'exact' ? needle(longestWord(unescapeSearch(raw))) : undefined;
    default:
      return undefined;
  }
}

/** The needles one clause needs (any one of them), or undefined when it constrains nothing here. */
function clauseNeedles(type: string, clause: SearchClause): Buffer[] | undefined {
  const def = findSearchParam(type, clause.name);
  if (def === undefined || def.expression === '') return undefined;
  const types = storedValueTypes(def.expression);
  if (types === undefined) return undefined;
  const numbers = [...types].some((t) => NUMBER_TYPES.has(t));
  const needles: Buffer[] = [];
  for (const raw of clause.values) {
    const found = valueNeedle(def, clause.modifier, raw, numbers);
    if (found === undefined) return undefined;
    needles.push(found);
  }
  return needles.length > 0 ? needles : undefined;
}

/** Needles of a query: one list per clause, all needed (AND), any needle of a list enough (OR). */
function queryNeedles(query: SearchQuery): Buffer[][] {
  const out: Buffer[][] = [];
  for (const clause of query.clauses) {
    const needles = clauseNeedles(query.resourceType, clause);
    if (needles !== undefined) out.push(needles);
  }
  return out;
}

const SLASH = '/'.charCodeAt(0);

/**
 * Whether JSON escapes could hide a needle: `\uXXXX` can spell any character, `\/` a slash. The stored
 * JSON is usually compact JSON.stringify output, which has neither.
 */
function escapesCouldHide(queries: Buffer[][][]): (bytes: Buffer) => boolean {
  const slashes = queries.some((q) => q.some((needles) => needles.some((n) => n.includes(SLASH))));
  return (bytes) =>
    bytes.includes(BACKSLASH) && (bytes.includes(ESCAPE_U) || (slashes && bytes.includes(ESCAPE_SLASH)));
}

function compilePrecheck(queries: Buffer[][][]): RawPrecheck | undefined {
  // A query with no needle can match any row, and the queries of a type are OR'd.
  if (queries.some((q) => q.length === 0)) return undefined;
  const holds = (bytes: Buffer, query: Buffer[][]): boolean =>
    query.every((needles) => needles.some((n) => bytes.includes(n)));
  const mayHide = escapesCouldHide(queries);
  return (bytes) => queries.some((q) => holds(bytes, q)) || mayHide(bytes);
}

/**
 * Derives from `_typeFilter` values, per resource type, a byte test that rejects rows that cannot
 * match: token codes, reference ids and URLs, uris and `:exact` strings must occur in the JSON.
 * Types whose queries give nothing to look for (dates, numbers, `:missing`, `:not`...) are absent.
 * @param values - the `_typeFilter` values, already accepted by compileTypeFilters
 * @throws InvalidRequestError or NotSupportedError as parseSearchQuery, for values it would refuse
 */
export function compileTypeFilterPrechecks(values: readonly string[]): Map<string, RawPrecheck> {
  const byType = new Map<string, Buffer[][][]>();
  for (const text of splitTypeFilterValues(values)) {
    const query = parseSearchQuery(text);
    const list = byType.get(query.resourceType) ?? [];
    list.push(queryNeedles(query));
    byType.set(query.resourceType, list);
  }
  const out = new Map<string, RawPrecheck>();
  for (const [type, queries] of byType) {
    const precheck = compilePrecheck(queries);
    if (precheck !== undefined) out.set(type, precheck);
  }
  return out;
}
