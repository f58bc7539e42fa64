// Dates are carried as integer day numbers (days since 1970-01-01, UTC) and formatted with integer
// arithmetic, so the hot loops never build a Date object.

const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** The generator's "today": fixed, so that output never depends on the wall clock. */
export const REF_DAY = Date.UTC(2025, 0, 1) / 86400000;

/** Day number of 1 January of `year`. */
export function dayOfYearStart(year: number): number {
  return Date.UTC(year, 0, 1) / 86400000;
}

/** Format a day number as a FHIR `date` (YYYY-MM-DD); Hinnant's civil_from_days. */
export function formatDate(day: number): string {
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return y + '-' + PAD2[m]! + '-' + PAD2[d]!;
}

/** Format a day number plus seconds into the day as a FHIR `dateTime`/`instant` in UTC. */
export function formatDateTime(day: number, second: number): string {
  const extraDays = Math.floor(second / 86400);
  const s = second - extraDays * 86400;
  const h = Math.floor(s / 3600);
  const mi = Math.floor((s % 3600) / 60);
  return formatDate(day + extraDays) + 'T' + PAD2[h]! + ':' + PAD2[mi]! + ':' + PAD2[s % 60]! + 'Z';
}
