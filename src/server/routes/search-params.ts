import type { DateComparison, SearchQuery } from '../../store/index.js';
import {
  InvalidRequestError,
  NotSupportedError,
  isValidId,
  parseDateRange,
  parseReference,
} from '../../fhir/index.js';
import { checkFormat } from '../format-param.js';
import { referenceParamsOf } from '../search-support.js';

/** One `name=value` pair, name with any `:modifier`, as it came in. */
export type SearchPair = [name: string, value: string];

/** Context of one search request. */
export interface SearchParseOptions {
  type: string;
  baseUrl: string;
  /** `Prefer: handling=lenient`: drop unknown parameters instead of failing (R4 search.html#errors). */
  lenient: boolean;
}

/** A parsed search: the store query, plus what the Bundle needs. */
export interface ParsedSearch {
  query: SearchQuery;
  /** False when some value can match nothing here (a reference to another server): skip the store. */
  matchable: boolean;
  /** The pairs the search used, in request order, without `_cursor`: self and next links repeat them. */
  params: SearchPair[];
}

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 1000;

const DATE_PREFIXES = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'sa', 'eb']);
// Standard result and search parameters fhirhose does not implement: refused as not supported.
const UNSUPPORTED = new Set(
  '_sort _include _revinclude _summary _elements _contained _containedType _has _list _text _content _query _filter _tag _profile _security _source _type'.split(
    ' ',
  ),
);

/**
 * Turn search parameters into a store query (R4 search.html). Values in one parameter are OR'd
 * (comma), repeated parameters are AND'd. Empty values are ignored. The total is counted only when
 * asked for (`_total=accurate` or `estimate`, `_summary=count`, `_count=0`): counting reads every match.
 * @throws InvalidRequestError for a malformed value or (strict handling) an unknown parameter;
 *   NotSupportedError for a known feature fhirhose does not implement.
 */
export function parseSearch(pairs: readonly SearchPair[], options: SearchParseOptions): ParsedSearch {
  const out: ParsedSearch = {
    query: { type: options.type, count: DEFAULT_COUNT },
    matchable: true,
    params: [],
  };
  const seen = new Set<string>();
  for (const [rawName, value] of pairs) {
    if (value === '') continue;
    const [name = '', modifier] = rawName.split(':', 2) as [string, string | undefined];
    const used = applyParam(out, { name, modifier, rawName, value, options, repeated: seen.has(name) });
    if (!used) continue;
    seen.add(name);
    if (name !== '_cursor') out.params.push([rawName, value]);
  }
  // Only the count, whatever _count and _total say (R4 search.html#summary); _count=0 asks the same.
  if (out.params.some(([name, value]) => name === '_summary' && value === 'count') || out.query.count === 0) {
    out.query.count = 0;
    out.query.total = true;
  }
  return out;
}

interface ParamInput {
  name: string;
  modifier: string | undefined;
  rawName: string;
  value: string;
  options: SearchParseOptions;
  repeated: boolean;
}

/** Apply one parameter to `out`; false when it was ignored under lenient handling. */
function applyParam(out: ParsedSearch, p: ParamInput): boolean {
  const { name, modifier, value } = p;
  const q = out.query;
  const plain = modifier === undefined;
  if (name === '_id' && plain) {
    const ids = splitValues(value).map((id) => checkId(id));
    q.ids = q.ids ? q.ids.filter((id) => ids.includes(id)) : ids;
    if (q.ids.length === 0) out.matchable = false;
  } else if (name === '_lastUpdated' && plain) {
    (q.lastUpdated ??= []).push(parseDateComparison(value));
  } else if (referenceParamsOf(q.type).includes(name) && (plain || modifier === 'Patient')) {
    const targets = parseReferenceTargets(name, value, p.options.baseUrl);
    if (targets.length === 0) out.matchable = false;
    (q.references ??= []).push({ param: name, targets });
  } else if (q.type === 'ViewDefinition' && ['name', 'url', 'status'].includes(name)) {
    applyViewParam(q, p);
  } else if (q.type === 'Group' && name === 'name' && (plain || modifier === 'exact')) {
    once(p);
    q.name = { values: splitValues(value), exact: modifier === 'exact' };
  } else if (q.type === 'Group' && name === 'identifier' && plain) {
    once(p);
    q.identifier = splitValues(value);
  } else if (name === '_count' && plain) {
    once(p);
    q.count = parseCount(value);
  } else if (name === '_cursor' && plain) {
    once(p);
    q.cursor = value;
  } else if (name === '_total' && plain) {
    if (parseTotal(value)) q.total = true;
    else delete q.total;
  } else if (name === '_summary' && plain && value === 'count') {
    // Applied once every parameter is read (parseSearch): it overrides _count and _total.
  } else if (name === '_format' && plain) {
    checkFormat(value);
  } else if (name === '_pretty' && plain) {
    // Accepted and ignored: responses are compact JSON.
  } else {
    return unknownParam(p);
  }
  return true;
}

/**
 * ViewDefinition `name` (string: starts-with, `:exact`), `url` (uri, exact; `url|version` as a
 * canonical, R4 search.html#versions) and `status` (token, code only). Each may appear once.
 */
function applyViewParam(q: SearchQuery, p: ParamInput): void {
  const { name, modifier, value } = p;
  if (!(modifier === undefined || (name === 'name' && modifier === 'exact'))) {
    throw new NotSupportedError(`modifier ':${modifier}' is not supported on ${name}`, {
      expression: p.rawName,
    });
  }
  once(p);
  if (name === 'name') q.name = { values: splitValues(value), exact: modifier === 'exact' };
  else if (name === 'status') q.status = splitValues(value).map((v) => v.slice(v.indexOf('|') + 1));
  else {
    q.url = splitValues(value).map((v) => {
      const bar = v.lastIndexOf('|');
      return bar < 0 ? { url: v } : { url: v.slice(0, bar), version: v.slice(bar + 1) };
    });
  }
}

function unknownParam({ rawName, options }: ParamInput): false {
  if (options.lenient) return false;
  const name = rawName.split(':', 1)[0] ?? rawName;
  if (UNSUPPORTED.has(name)) {
    throw new NotSupportedError(`search parameter '${rawName}' is not supported`, { expression: rawName });
  }
  throw new InvalidRequestError(`unknown search parameter '${rawName}' for ${options.type}`, {
    expression: rawName,
  });
}

/** The store takes one OR-list for these, so a repeat (AND) cannot be answered. */
function once({ rawName, repeated }: ParamInput): void {
  if (repeated) {
    throw new NotSupportedError(`'${rawName}' may appear once; use commas for alternatives`, {
      expression: rawName,
    });
  }
}

/** Split a value on unescaped commas and undo the `\,` `\$` `\\` escapes (R4 search.html#escaping). */
export function splitValues(value: string): string[] {
  const parts = value.split(/(?<!\\),/);
  return parts.map((part) => part.replace(/\\([,$\\])/g, '$1')).filter((part) => part !== '');
}

function checkId(id: string): string {
  if (!isValidId(id))
    throw new InvalidRequestError(`_id: '${id}' is not a valid FHIR id`, { expression: '_id' });
  return id;
}

function parseCount(value: string): number {
  if (!/^\d{1,9}$/.test(value)) {
    throw new InvalidRequestError(`_count must be a non-negative integer, got '${value}'`, {
      expression: '_count',
    });
  }
  return Math.min(Number(value), MAX_COUNT);
}

function parseTotal(value: string): boolean {
  if (value === 'none') return false;
  if (value === 'estimate' || value === 'accurate') return true;
  throw new InvalidRequestError(`_total must be none, estimate or accurate, got '${value}'`, {
    expression: '_total',
  });
}

/** `_lastUpdated=[prefix]date`; a `+` in a timezone that arrived unencoded (as a space) is restored. */
export function parseDateComparison(raw: string): DateComparison {
  if (raw.includes(',')) {
    throw new NotSupportedError('_lastUpdated takes one value; repeat the parameter to AND', {
      expression: '_lastUpdated',
    });
  }
  const value = raw.replace(/ /g, '+');
  const m = /^([a-z]{2})(?=\d)/.exec(value);
  const prefix = m?.[1] ?? 'eq';
  if (prefix === 'ap') {
    throw new NotSupportedError("_lastUpdated prefix 'ap' is not supported", { expression: '_lastUpdated' });
  }
  if (!DATE_PREFIXES.has(prefix)) {
    throw new InvalidRequestError(`_lastUpdated: unknown prefix '${prefix}'`, { expression: '_lastUpdated' });
  }
  const range = parseDateRange(m ? value.slice(2) : value, '_lastUpdated');
  return { prefix: prefix as DateComparison['prefix'], start: range.start, end: range.end };
}

/**
 * Patient targets of a `patient`/`subject` value: `Patient/x`, `x`, or an absolute URL. An absolute URL
 * on another server matches nothing here, so it is dropped (R4 search.html#reference).
 */
function parseReferenceTargets(param: string, value: string, baseUrl: string): string[] {
  const targets: string[] = [];
  for (const v of splitValues(value)) {
    let ref = v;
    if (/^https?:\/\//.test(v)) {
      if (!v.startsWith(`${baseUrl}/`)) continue;
      ref = v.slice(baseUrl.length + 1);
    }
    if (isValidId(ref)) ref = `Patient/${ref}`;
    const parsed = parseReference(ref);
    if (!parsed?.type) {
      throw new InvalidRequestError(`${param}: '${v}' is not a Patient reference`, { expression: param });
    }
    if (parsed.type !== 'Patient') {
      throw new NotSupportedError(`${param}: only Patient targets are supported, got '${v}'`, {
        expression: param,
      });
    }
    targets.push(`Patient/${parsed.id}`);
  }
  return targets;
}
