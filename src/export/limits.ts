import { LimitExceededError, measureTypeFilters } from '../fhir/index.js';

// Each kick-off's cost is bounded up front (DESIGN.md §9): a request over a limit is refused before
// anything is compiled, read or stored, with a message naming the limit, its setting and the value.
// docs/export.md "Limits on a kick-off" lists them; docs/config.md the settings.

/** Bounds on the size of one kick-off request. */
export interface KickoffLimits {
  /** `_typeFilter` queries, counting repeats and comma-joined (v1) lists. */
  maxTypeFilters: number;
  /** OR'd (comma) values of one parameter in one `_typeFilter` query. */
  maxFilterOrValues: number;
  /** Characters of all `_typeFilter` values together. */
  maxFilterChars: number;
  /** `_type` entries, counting repeats, comma lists and duplicates. */
  maxTypes: number;
  /** `patient` references of a POST body, duplicates included. */
  maxPatients: number;
  /** Bytes of a POST kick-off body; the HTTP layer enforces it while reading the body. */
  maxBodyBytes: number;
}

/**
 * Defaults far above what real clients send, and low enough that one request cannot tie up a
 * server: a predicate per query and per OR'd value is evaluated on every resource of its type, and
 * each `patient` is read from the store at kick-off.
 */
export const DEFAULT_KICKOFF_LIMITS: Readonly<KickoffLimits> = Object.freeze({
  maxTypeFilters: 100,
  maxFilterOrValues: 100,
  maxFilterChars: 64 * 1024,
  // R4 has 146 resource types: every one of them, and room for repeats.
  maxTypes: 200,
  maxPatients: 10_000,
  // 10,000 `patient` entries take about 1 MB as a Parameters body.
  maxBodyBytes: 4 * 1024 * 1024,
});

/** The setting of each limit, named in every refusal so that an operator knows what to raise. */
export const KICKOFF_LIMIT_SETTINGS: Readonly<Record<keyof KickoffLimits, string>> = Object.freeze({
  maxTypeFilters: 'FHIRHOSE_MAX_TYPE_FILTERS',
  maxFilterOrValues: 'FHIRHOSE_MAX_FILTER_OR_VALUES',
  maxFilterChars: 'FHIRHOSE_MAX_FILTER_CHARS',
  maxTypes: 'FHIRHOSE_MAX_TYPES',
  maxPatients: 'FHIRHOSE_MAX_PATIENTS',
  maxBodyBytes: 'FHIRHOSE_MAX_KICKOFF_BODY_BYTES',
});

/**
 * Checks the parameters of a kick-off against the limits, in time linear in their length. Structural
 * limits come first: a huge filter is reported by its OR'd values, the more telling of its sizes.
 * @param params - the kick-off parameters, repeats as several values (`patient` apart)
 * @param patientRefs - the `patient` references of a POST body
 * @param limits - the limits to apply
 * @throws LimitExceededError (expression = the parameter) naming the first limit exceeded
 */
export function checkKickoffLimits(
  params: ReadonlyMap<string, readonly string[]>,
  patientRefs: readonly string[],
  limits: KickoffLimits,
): void {
  const check = (key: keyof KickoffLimits, expression: string, actual: number, what: string): void => {
    const limit = limits[key];
    if (actual <= limit) return;
    const setting = KICKOFF_LIMIT_SETTINGS[key];
    throw new LimitExceededError(`${expression} has ${actual} ${what}; the limit is ${limit} (${setting})`, {
      expression,
      setting,
      limit,
      actual,
    });
  };
  check('maxPatients', 'patient', patientRefs.length, 'references');
  const types = params.get('_type') ?? [];
  check(
    'maxTypes',
    '_type',
    types.reduce((n, v) => n + commaItems(v), 0),
    'entries',
  );
  const filters = params.get('_typeFilter') ?? [];
  if (filters.length === 0) return;
  const size = measureTypeFilters(filters);
  check('maxTypeFilters', '_typeFilter', size.queries, 'queries');
  if (size.widest !== undefined) {
    const name = shorten(size.widest.name);
    check('maxFilterOrValues', '_typeFilter', size.widest.values, `OR-ed values for ${name}`);
  }
  check('maxFilterChars', '_typeFilter', size.chars, 'characters');
}

/** Items of a comma list, as splitList in request-parser.ts makes them, counted without making them. */
function commaItems(value: string): number {
  let count = 1;
  for (let i = value.indexOf(','); i >= 0; i = value.indexOf(',', i + 1)) count++;
  return count;
}

/** A parameter name from a request, cut short so that a refusal cannot echo megabytes. */
function shorten(name: string): string {
  return name.length <= 64 ? name : `${name.slice(0, 64)}...`;
}
