import { InvalidRequestError } from './errors.js';

// FHIR R4 `instant`: full date-time with seconds and a mandatory timezone.
const INSTANT_RE =
  /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(\.\d+)?(Z|[+-](?:0\d|1[0-3]):[0-5]\d|[+-]14:00)$/;
// FHIR `dateTime` / `date` as used by search parameters: partial precision allowed.
const DATE_PARAM_RE =
  /^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01])(?:T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d|60)(\.\d+)?)?(Z|[+-](?:0\d|1[0-3]):[0-5]\d|[+-]14:00)?)?)?)?$/;

/**
 * True when the day exists in the calendar and the year is one FHIR allows. The patterns check each
 * field's range only, and Date.parse rolls `2024-02-30` over to March 1st and takes year 0000, which
 * the FHIR R4 date regex (datatypes.html#date) excludes.
 */
function isCalendarDay(year: number, month: number, day = 1): boolean {
  if (year < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return day <= days;
}

/** Epoch ms of a UTC calendar day; unlike Date.UTC, years 0001 to 0099 are not read as 1901 to 1999. */
function utcDay(year: number, month: number, day: number): number {
  return new Date(0).setUTCFullYear(year, month, day);
}

/** Parse a FHIR instant into epoch milliseconds, or throw InvalidRequestError naming `param`. */
export function parseInstant(value: string, param: string): number {
  const m = INSTANT_RE.exec(value);
  const ms = m && isCalendarDay(Number(m[1]), Number(m[2]), Number(m[3])) ? Date.parse(value) : NaN;
  if (!m || Number.isNaN(ms)) {
    throw new InvalidRequestError(`${param} must be a FHIR instant with a timezone, got '${value}'`, {
      expression: param,
    });
  }
  return ms;
}

/** Format epoch milliseconds as a FHIR instant in UTC with millisecond precision. */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}

/** The half-open range [start, end) of epoch ms that a date search value denotes at its precision. */
export function parseDateRange(value: string, param: string): { start: number; end: number } {
  const m = DATE_PARAM_RE.exec(value);
  const valid = m !== null && isCalendarDay(Number(m[1]), Number(m[2] ?? 1), Number(m[3] ?? 1));
  if (!valid)
    throw new InvalidRequestError(`${param}: '${value}' is not a valid date`, { expression: param });
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  if (mo === undefined) return { start: utcDay(year, 0, 1), end: utcDay(year + 1, 0, 1) };
  const month = Number(mo) - 1;
  if (d === undefined) return { start: utcDay(year, month, 1), end: utcDay(year, month + 1, 1) };
  const day = Number(d);
  if (h === undefined) return { start: utcDay(year, month, day), end: utcDay(year, month, day + 1) };
  if (tz === undefined) {
    throw new InvalidRequestError(`${param}: '${value}' has a time but no timezone`, { expression: param });
  }
  const start = Date.parse(value);
  if (Number.isNaN(start))
    throw new InvalidRequestError(`${param}: '${value}' is not a valid date`, { expression: param });
  const width =
    s === undefined
      ? 60_000
      : frac === undefined
        ? 1000
        : Math.max(1, 10 ** (3 - Math.min(3, frac.length - 1)));
  void mi;
  return { start, end: start + width };
}

/** A half-open range [start, end) of epoch milliseconds. */
export interface DateRange {
  start: number;
  end: number;
}

/**
 * The range a stored `date`, `dateTime` or `instant` value covers at its precision (`2015` is the whole
 * year), or undefined when it does not parse. Lenient where parseDateRange is strict: a time without a
 * timezone is read as UTC, because stored data is matched, not validated, here.
 */
export function dateValueRange(value: string): DateRange | undefined {
  const m = DATE_PARAM_RE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, , s, frac, tz] = m;
  const year = Number(y);
  if (mo === undefined) return { start: utcDay(year, 0, 1), end: utcDay(year + 1, 0, 1) };
  const month = Number(mo) - 1;
  if (d === undefined) return { start: utcDay(year, month, 1), end: utcDay(year, month + 1, 1) };
  const day = Number(d);
  if (h === undefined) return { start: utcDay(year, month, day), end: utcDay(year, month, day + 1) };
  const start = Date.parse(tz === undefined ? `${value}Z` : value);
  if (Number.isNaN(start)) return undefined;
  const digits = frac === undefined ? 0 : frac.length - 1;
  const width = s === undefined ? 60_000 : frac === undefined ? 1000 : 10 ** (3 - Math.min(3, digits));
  return { start, end: start + width };
}
