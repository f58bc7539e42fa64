// Comparison prefixes of date, number and quantity search values, and the interval test they imply.
// See https://hl7.org/fhir/R4/search.html#prefix.

/** A search comparison prefix; `eq` when the value has none. */
export type SearchPrefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

const PREFIXES = new Set<string>(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

/** Splits a leading prefix off a search value (`ge2015` -> `ge`, `2015`). */
export function splitPrefix(raw: string): { prefix: SearchPrefix; rest: string } {
  const head = raw.slice(0, 2);
  if (PREFIXES.has(head)) return { prefix: head as SearchPrefix, rest: raw.slice(2) };
  return { prefix: 'eq', rest: raw };
}

/** A range of epoch ms `[low, high)` or of numbers `[low, high]`; a point has low === high. */
export interface Interval {
  low: number;
  high: number;
}

/**
 * The R4 prefix table on half-open date ranges: `target` is the resource value's range, `search` the
 * range the search value denotes at its precision, `approx` the widened range `ap` uses. `gt`: the
 * range above the search value overlaps the target; `sa`: the target lies wholly above it; `ge`/`le`
 * also accept a target wholly inside the search range (`eq`).
 */
export function compareDateRanges(
  prefix: SearchPrefix,
  target: Interval,
  search: Interval,
  approx: Interval,
): boolean {
  const within = target.low >= search.low && target.high <= search.high;
  switch (prefix) {
    case 'eq':
      return within;
    case 'ne':
      return !within;
    case 'gt':
      return target.high > search.high;
    case 'lt':
      return target.low < search.low;
    case 'ge':
      return target.high > search.high || within;
    case 'le':
      return target.low < search.low || within;
    case 'sa':
      return target.low >= search.high;
    case 'eb':
      return target.high <= search.low;
    case 'ap':
      return target.low < approx.high && target.high > approx.low;
  }
}

/**
 * The R4 prefix table for numbers and quantities: `eq`/`ne` use the implicit precision range of the
 * search value (`100` means [99.5, 100.5)), `ap` is within 10%, the others compare with the exact value.
 * `target` is a point or a closed Range (low/high may be infinite when a bound is missing).
 */
export function compareNumbers(
  prefix: SearchPrefix,
  target: Interval,
  value: number,
  precision: Interval,
): boolean {
  switch (prefix) {
    case 'eq':
      return target.low >= precision.low && target.high < precision.high;
    case 'ne':
      return !(target.low >= precision.low && target.high < precision.high);
    case 'gt':
      return target.high > value;
    case 'lt':
      return target.low < value;
    case 'ge':
      return target.high >= value;
    case 'le':
      return target.low <= value;
    case 'sa':
      return target.low > value;
    case 'eb':
      return target.high < value;
    case 'ap': {
      const delta = Math.abs(value) * 0.1;
      return target.low <= value + delta && target.high >= value - delta;
    }
  }
}
