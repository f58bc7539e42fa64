import { InvalidRequestError } from '../fhir/index.js';
import { toStored } from './stored-row.js';
import type { VersionRow } from './stored-row.js';
import type { SearchPage } from './types.js';

// Both searches page by row id (keyset, never OFFSET): a cursor is the row id of a page's last row.

/**
 * The row id a page starts after: 0 for the first page.
 * @throws InvalidRequestError for a cursor that is not one this store hands out
 */
export function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const rid = Number.parseInt(Buffer.from(cursor, 'base64url').toString('utf8'), 10);
  if (!Number.isSafeInteger(rid) || rid < 0)
    throw new InvalidRequestError('invalid paging cursor', { expression: '_cursor' });
  return rid;
}

/**
 * A page from the rows of a query for `count + 1` rows in row-id order: the extra row only says that
 * there is a next page. `total` is given when the search asked for it.
 */
export function searchPage(
  rows: (VersionRow & { rid: number })[],
  count: number,
  total: number | undefined,
): SearchPage {
  const page = rows.slice(0, count);
  const result: SearchPage = { resources: page.map(toStored) };
  if (total !== undefined) result.total = total;
  const last = page[page.length - 1];
  if (rows.length > count && last) result.next = Buffer.from(String(last.rid), 'utf8').toString('base64url');
  return result;
}

/** The compartment params a reference search param matches: `patient` is also `subject` where a type has that. */
export function compartmentParams(param: string): string[] {
  return PARAM_ALIASES[param] ?? [param];
}

const PARAM_ALIASES: Record<string, string[]> = { patient: ['patient', 'subject'], subject: ['subject'] };

/** Patient ids of reference search targets (`Patient/id` or a bare id). */
export function targetIds(targets: readonly string[]): string[] {
  return targets.map((t) => (t.startsWith('Patient/') ? t.slice(8) : t));
}

/** `name` values as the store compares them: as they are (`exact`), else lower-case LIKE prefixes with `\` escapes. */
export function nameValues(name: { values: string[]; exact: boolean }): string[] {
  return name.exact ? name.values : name.values.map((v) => `${v.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`);
}
