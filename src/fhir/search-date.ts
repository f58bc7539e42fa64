import { InvalidRequestError } from './errors.js';
import { dateValueRange, parseDateRange } from './instant.js';
import type { DateRange } from './instant.js';
import type { SearchValue } from './search-extract.js';
import { compareDateRanges, splitPrefix } from './search-prefix.js';
import { invalidFilter, unescapeSearch } from './search-query.js';
import type { ValuePredicate } from './search-token.js';

// Date search: every value is a range at its precision, compared with the prefix table.
// See https://hl7.org/fhir/R4/search.html#date.

type Json = Record<string, unknown>;

function asObject(value: unknown): Json {
  return typeof value === 'object' && value !== null ? (value as Json) : {};
}

function periodRange(period: Json): DateRange | undefined {
  const start = typeof period.start === 'string' ? dateValueRange(period.start) : undefined;
  const end = typeof period.end === 'string' ? dateValueRange(period.end) : undefined;
  if (start === undefined && end === undefined) return undefined;
  // A missing bound is open: a Period without an end is still ongoing.
  return { start: start?.start ?? -Infinity, end: end?.end ?? Infinity };
}

/** Timing: only the outer limits matter (search.html#date), from `event` or else `repeat.boundsPeriod`. */
function timingRange(timing: Json): DateRange | undefined {
  const events = Array.isArray(timing.event) ? timing.event : [];
  let range: DateRange | undefined;
  for (const event of events) {
    const r = typeof event === 'string' ? dateValueRange(event) : undefined;
    if (r === undefined) continue;
    range =
      range === undefined ? r : { start: Math.min(range.start, r.start), end: Math.max(range.end, r.end) };
  }
  if (range !== undefined) return range;
  const bounds = asObject(asObject(timing.repeat).boundsPeriod);
  return periodRange(bounds);
}

/** The range a date-like value covers: date, dateTime, instant, Period or Timing. */
export function searchDateRange(value: SearchValue): DateRange | undefined {
  if (typeof value.data === 'string') return dateValueRange(value.data);
  if (value.type === 'Period') return periodRange(asObject(value.data));
  if (value.type === 'Timing') return timingRange(asObject(value.data));
  return undefined;
}

/**
 * Compiles one date search value such as `ge2015-01-01` or `2015-03`.
 * `ap` widens the search range by 10% of its distance from `now` (search.html#prefix).
 * @throws InvalidRequestError when the value is not a FHIR date, dateTime or instant
 */
export function compileDatePredicate(raw: string, name: string, now: number): ValuePredicate {
  const { prefix, rest } = splitPrefix(unescapeSearch(raw));
  // An unencoded `+02:00` offset arrives as a space once a form decoder has run over the URL.
  const text = rest.replace(/ (\d{2}:\d{2})$/, '+$1');
  let search: DateRange;
  try {
    search = parseDateRange(text, name);
  } catch (err) {
    if (!(err instanceof InvalidRequestError)) throw err;
    throw invalidFilter(`parameter '${name}' has an invalid date '${raw}'`, err);
  }
  const gap = Math.abs(now - search.start) * 0.1;
  const searchInterval = { low: search.start, high: search.end };
  const approx = { low: search.start - gap, high: search.end + gap };
  return (value) => {
    const range = searchDateRange(value);
    if (range === undefined) return false;
    return compareDateRanges(prefix, { low: range.start, high: range.end }, searchInterval, approx);
  };
}
