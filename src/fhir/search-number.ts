import type { SearchValue } from './search-extract.js';
import { compareNumbers, splitPrefix } from './search-prefix.js';
import type { Interval } from './search-prefix.js';
import { invalidFilter, splitEscaped, unescapeSearch } from './search-query.js';
import type { ValuePredicate } from './search-token.js';

// Number and quantity search. See https://hl7.org/fhir/R4/search.html#number and #quantity.

type Json = Record<string, unknown>;

const NUMBER_RE = /^[+-]?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

interface SearchNumber {
  value: number;
  /** The implicit range of the value at its precision: `100` is [99.5, 100.5), `1e2` is [50, 150). */
  precision: Interval;
}

function parseNumber(text: string, name: string, raw: string): SearchNumber {
  const m = NUMBER_RE.exec(text);
  if (!m) throw invalidFilter(`parameter '${name}' has an invalid number '${raw}'`);
  const decimals = m[2]?.length ?? 0;
  const exponent = m[3] === undefined ? 0 : Number(m[3]);
  const value = Number(text);
  const half = 0.5 * 10 ** (exponent - decimals);
  return { value, precision: { low: value - half, high: value + half } };
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function asObject(value: unknown): Json {
  return typeof value === 'object' && value !== null ? (value as Json) : {};
}

/** Compiles one number search value such as `gt0.8` or `100`. */
export function compileNumberPredicate(raw: string, name: string): ValuePredicate {
  const { prefix, rest } = splitPrefix(unescapeSearch(raw));
  const { value, precision } = parseNumber(rest, name, raw);
  return (v) => {
    const n = num(v.data);
    // RiskAssessment.prediction.probability[x] may be a Range.
    const interval =
      n !== undefined ? { low: n, high: n } : v.type === 'Range' ? quantityValue(v)?.interval : undefined;
    return interval !== undefined && compareNumbers(prefix, interval, value, precision);
  };
}

interface QuantityValue {
  interval: Interval;
  system: string | undefined;
  code: string | undefined;
  unit: string | undefined;
}

function units(q: Json): Omit<QuantityValue, 'interval'> {
  const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
  return { system: str(q.system), code: str(q.code), unit: str(q.unit) };
}

/** Reads Quantity and its profiles (Age, Duration...), Money (currency as code) and Range. */
function quantityValue(v: SearchValue): QuantityValue | undefined {
  const data = asObject(v.data);
  if (v.type === 'Range') {
    const low = asObject(data.low);
    const high = asObject(data.high);
    const lo = num(low.value);
    const hi = num(high.value);
    if (lo === undefined && hi === undefined) return undefined;
    return {
      interval: { low: lo ?? -Infinity, high: hi ?? Infinity },
      ...units(lo === undefined ? high : low),
    };
  }
  const n = num(data.value);
  if (n === undefined) return undefined;
  if (v.type === 'Money') {
    const currency = typeof data.currency === 'string' ? data.currency : undefined;
    return { interval: { low: n, high: n }, system: 'urn:iso:std:iso:4217', code: currency, unit: currency };
  }
  return { interval: { low: n, high: n }, ...units(data) };
}

/**
 * Compiles one quantity search value: `[prefix]number`, `[prefix]number|system|code` or
 * `[prefix]number||code` (code or unit). Units are compared as given: no UCUM conversion.
 * @throws InvalidRequestError for a bad number or a value with two parts
 */
export function compileQuantityPredicate(raw: string, name: string): ValuePredicate {
  const parts = splitEscaped(raw, '|').map(unescapeSearch);
  if (parts.length !== 1 && parts.length !== 3) {
    throw invalidFilter(`quantity '${raw}' of parameter '${name}' must be number or number|system|code`);
  }
  const [numberPart = '', system = '', code = ''] = parts;
  if (parts.length === 3 && code === '')
    throw invalidFilter(`quantity '${raw}' of parameter '${name}' has no code`);
  const { prefix, rest } = splitPrefix(numberPart);
  const { value, precision } = parseNumber(rest, name, raw);
  const unitOk = (q: QuantityValue): boolean => {
    if (code === '') return true;
    if (system === '') return q.code === code || q.unit === code;
    return q.system === system && q.code === code;
  };
  return (v) => {
    const q = quantityValue(v);
    return q !== undefined && unitOk(q) && compareNumbers(prefix, q.interval, value, precision);
  };
}
