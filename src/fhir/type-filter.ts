import { NotSupportedError } from './errors.js';
import type { FhirResource } from './resource.js';
import { compileExtractor } from './search-extract.js';
import type { SearchValueExtractor } from './search-extract.js';
import { compileClause } from './search-match.js';
import type { ClauseTest } from './search-match.js';
import { findSearchParam, listSearchParams } from './search-param-table.js';
import type { SearchParamType } from './search-param-table.js';
import { parseSearchQuery, splitTypeFilterValues, unsupportedFilter, widestClause } from './search-query.js';
import type { SearchQuery } from './search-query.js';

export type { SearchParamType } from './search-param-table.js';

// The Bulk Data `_typeFilter` parameter: FHIR R4 search queries evaluated in memory on each resource.
// See https://hl7.org/fhir/uv/bulkdata/export.html#_typefilter-experimental-query-parameter.

/** Decides whether a resource of one type is exported. */
export type ResourcePredicate = (resource: FhirResource) => boolean;

/** Options for compileTypeFilters. */
export interface TypeFilterOptions {
  /** Epoch ms the `ap` date prefix measures from; defaults to the time of compilation. */
  now?: number;
}

/** A search parameter usable in `_typeFilter`, shaped as CapabilityStatement.rest.resource.searchParam. */
export interface TypeFilterSearchParam {
  name: string;
  type: SearchParamType;
  /** The canonical URL of the SearchParameter. */
  definition: string;
}

const UNSUPPORTED_TYPES = new Set<SearchParamType>(['composite', 'special']);

function compileQuery(
  query: SearchQuery,
  options: Required<TypeFilterOptions>,
  extractors: Map<string, SearchValueExtractor>,
): ResourcePredicate {
  const tests: { extract: SearchValueExtractor; test: ClauseTest }[] = [];
  // Every clause is checked before an unsupported one is reported, so that a malformed value is
  // refused even when lenient handling would drop the query for the unsupported one.
  let unsupported: NotSupportedError | undefined;
  for (const clause of query.clauses) {
    const def = findSearchParam(query.resourceType, clause.name);
    if (def === undefined) {
      unsupported ??= unsupportedFilter(
        `search parameter '${clause.name}' is not supported for ${query.resourceType}`,
      );
      continue;
    }
    let test: ClauseTest;
    try {
      test = compileClause(def, clause, options);
    } catch (err) {
      if (!(err instanceof NotSupportedError)) throw err;
      unsupported ??= err;
      continue;
    }
    let extract = extractors.get(def.expression);
    if (extract === undefined) {
      extract = compileExtractor(def.expression);
      extractors.set(def.expression, extract);
    }
    tests.push({ extract, test });
  }
  if (unsupported) throw unsupported;
  return (resource) => tests.every(({ extract, test }) => test(extract(resource)));
}

function anyOf(predicates: ResourcePredicate[]): ResourcePredicate {
  const [only] = predicates;
  if (predicates.length === 1 && only !== undefined) return only;
  return (resource) => predicates.some((p) => p(resource));
}

/**
 * Compiles the `_typeFilter` values of a kick-off request into one predicate per resource type.
 * Each value is one query `Type?name=value&...`: its parameters are AND'd, comma values OR'd, and
 * several queries for the same type OR'd (Bulk Data v2+). A comma-joined list of queries (v1 style)
 * is split at commas followed by `Type?`. Types without a query are absent from the map (no filter).
 * @param values - the `_typeFilter` values, already decoded once from the kick-off request
 * @param options - `now` for the `ap` date prefix
 * @throws InvalidRequestError (expression `_typeFilter`) for a malformed query, an unknown type,
 *   a compartment context, a result parameter such as `_sort` or `_include`, or a bad value
 * @throws NotSupportedError (expression `_typeFilter`) for an unknown search parameter, chained
 *   parameters, `_has`, composite or special parameters and unsupported modifiers
 */
export function compileTypeFilters(
  values: readonly string[],
  options: TypeFilterOptions = {},
): Map<string, ResourcePredicate> {
  const resolved = { now: options.now ?? Date.now() };
  const extractors = new Map<string, SearchValueExtractor>();
  const byType = new Map<string, ResourcePredicate[]>();
  for (const text of splitTypeFilterValues(values)) {
    const query = parseSearchQuery(text);
    const predicate = compileQuery(query, resolved, extractors);
    const list = byType.get(query.resourceType) ?? [];
    list.push(predicate);
    byType.set(query.resourceType, list);
  }
  return new Map([...byType].map(([type, predicates]) => [type, anyOf(predicates)]));
}

/** A `_typeFilter` query left out under lenient handling, and why. */
export interface DroppedTypeFilter {
  /** The single query, as split from the values. */
  query: string;
  resourceType: string;
  error: NotSupportedError;
}

/** The `_typeFilter` queries that can be applied, and those that cannot. */
export interface PartitionedTypeFilters {
  /** Single queries that compile; compileTypeFilters accepts them as values. */
  applicable: string[];
  dropped: DroppedTypeFilter[];
}

/**
 * Sorts the `_typeFilter` values into queries this server can apply and queries that use a search
 * feature it does not support, for `Prefer: handling=lenient`. Dropping a query narrows the export
 * (the queries of a type are OR'd), so the caller must leave out a type whose every query is dropped.
 * @param values - the `_typeFilter` values, already decoded once from the kick-off request
 * @param options - `now` for the `ap` date prefix
 * @throws InvalidRequestError (expression `_typeFilter`) for a malformed query, as compileTypeFilters
 */
export function partitionTypeFilters(
  values: readonly string[],
  options: TypeFilterOptions = {},
): PartitionedTypeFilters {
  const resolved = { now: options.now ?? Date.now() };
  const extractors = new Map<string, SearchValueExtractor>();
  const result: PartitionedTypeFilters = { applicable: [], dropped: [] };
  for (const text of splitTypeFilterValues(values)) {
    try {
      compileQuery(parseSearchQuery(text), resolved, extractors);
      result.applicable.push(text);
    } catch (err) {
      if (!(err instanceof NotSupportedError)) throw err;
      // parseSearchQuery checks the type before any parameter, so the context is a valid type here.
      result.dropped.push({ query: text, resourceType: text.slice(0, text.indexOf('?')), error: err });
    }
  }
  return result;
}

/** The size of a kick-off's `_typeFilter` values, as {@link measureTypeFilters} counts it. */
export interface TypeFilterSize {
  /** Queries, once comma-joined lists (v1 style) are split: what compileTypeFilters compiles. */
  queries: number;
  /** Characters of all the values, as received. */
  chars: number;
  /** The parameter with the most OR'd (comma) values in any one query, and that count. */
  widest: { name: string; values: number } | undefined;
}

/**
 * Measures `_typeFilter` values in one linear pass, without compiling them, so that a request too
 * costly to evaluate is refused before any work is done on it. Malformed queries are measured as far
 * as they go; compileTypeFilters reports what is wrong with them.
 * @param values - the `_typeFilter` values, already decoded once from the kick-off request
 * @throws InvalidRequestError (expression `_typeFilter`) for a percent-encoded list that does not decode
 */
export function measureTypeFilters(values: readonly string[]): TypeFilterSize {
  let chars = 0;
  for (const value of values) chars += value.length;
  const queries = splitTypeFilterValues(values);
  let widest: TypeFilterSize['widest'];
  for (const query of queries) {
    const clause = widestClause(query);
    if (clause !== undefined && (widest === undefined || clause.values > widest.values)) widest = clause;
  }
  return { queries: queries.length, chars, widest };
}

/**
 * The search parameters `_typeFilter` supports for a resource type, for the CapabilityStatement
 * (`rest.resource.searchParam`, Bulk Data IG "Server Capability Documentation"). Empty for an unknown type.
 * @param resourceType - an R4 resource type such as `Observation`
 */
export function typeFilterSearchParams(resourceType: string): TypeFilterSearchParam[] {
  return listSearchParams(resourceType)
    .filter((def) => def.expression !== '' && !UNSUPPORTED_TYPES.has(def.type))
    .map((def) => ({ name: def.name, type: def.type, definition: def.url }));
}
