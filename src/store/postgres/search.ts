import { checkSearchFields } from '../search-check.js';
import type { PgDb } from './db.js';
import type { DateComparison, SearchPage, SearchQuery } from '../types.js';
import { compartmentParams, decodeCursor, nameValues, searchPage, targetIds } from '../search-page.js';
import type { VersionRow } from '../stored-row.js';

/** Collects bind parameters and hands out their `$n` placeholders. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function dateClause(c: DateComparison, p: Params): string {
  const col = 'r.last_updated';
  switch (c.prefix) {
    case 'eq':
      return `(${col} >= ${p.add(c.start)} AND ${col} < ${p.add(c.end)})`;
    case 'ne':
      return `(${col} < ${p.add(c.start)} OR ${col} >= ${p.add(c.end)})`;
    case 'gt':
    case 'sa':
      return `${col} >= ${p.add(c.end)}`;
    case 'ge':
      return `${col} >= ${p.add(c.start)}`;
    case 'lt':
    case 'eb':
      return `${col} < ${p.add(c.start)}`;
    case 'le':
      return `${col} < ${p.add(c.end)}`;
  }
}

function clauses(q: SearchQuery, p: Params): string[] {
  const out: string[] = [`r.type = ${p.add(q.type)}`];
  if (q.ids) out.push(`r.id = ANY(${p.add(q.ids)}::text[])`);
  for (const c of q.lastUpdated ?? []) out.push(dateClause(c, p));
  for (const ref of q.references ?? []) {
    const params = compartmentParams(ref.param);
    const targets = targetIds(ref.targets);
    out.push(
      `EXISTS (SELECT 1 FROM compartment c WHERE c.rid = r.rid
         AND c.param = ANY(${p.add(params)}::text[]) AND c.patient_id = ANY(${p.add(targets)}::text[]))`,
    );
  }
  if (q.type === 'ViewDefinition') out.push(...viewClauses(q, p));
  else if (q.name) {
    const values = nameValues(q.name);
    const test = q.name.exact ? 's.value = ANY' : 'lower(s.value) LIKE ANY';
    out.push(
      `EXISTS (SELECT 1 FROM group_search s WHERE s.group_id = r.id AND s.kind = 'name'
         AND ${test}(${p.add(values)}::text[]))`,
    );
  }
  if (q.identifier) {
    const full = q.identifier.filter((v) => v.includes('|'));
    const bare = q.identifier.filter((v) => !v.includes('|'));
    out.push(
      `EXISTS (SELECT 1 FROM group_search s WHERE s.group_id = r.id AND (
         (s.kind = 'identifier' AND s.value = ANY(${p.add(full)}::text[]))
         OR (s.kind = 'identifier-value' AND s.value = ANY(${p.add(bare)}::text[]))))`,
    );
  }
  return out;
}

// ViewDefinitions are few and small, so their search reads the stored JSON instead of an index table.
function viewClauses(q: SearchQuery, p: Params): string[] {
  const out: string[] = [];
  const field = (name: string): string => `(r.json::jsonb ->> '${name}')`;
  if (q.name) {
    const values = nameValues(q.name);
    const test = q.name.exact ? `${field('name')} = ANY` : `lower(${field('name')}) LIKE ANY`;
    out.push(`${test}(${p.add(values)}::text[])`);
  }
  if (q.url) {
    const parts = q.url.map((u) =>
      u.version === undefined
        ? `${field('url')} = ${p.add(u.url)}`
        : `(${field('url')} = ${p.add(u.url)} AND ${field('version')} = ${p.add(u.version)})`,
    );
    out.push(`(${parts.join(' OR ')})`);
  }
  if (q.status) out.push(`${field('status')} = ANY(${p.add(q.status)}::text[])`);
  return out;
}

/** Run a REST search against current versions, paging by row id (keyset, never OFFSET). */
export async function pgSearch(db: PgDb, q: SearchQuery): Promise<SearchPage> {
  checkSearchFields(q);
  const p = new Params();
  const where = clauses(q, p).join(' AND ');
  // Counting reads every match: only for a search that asks (a page reads `count + 1` rows).
  const total = q.total
    ? await db.query<{ n: number }>(`SELECT count(*) AS n FROM resource r WHERE ${where}`, p.values)
    : undefined;
  const after = p.add(decodeCursor(q.cursor));
  const limit = p.add(q.count + 1);
  const found = await db.query<VersionRow & { rid: number }>(
    `SELECT r.rid, r.type, r.id, r.version, r.last_updated, r.json FROM resource r
     WHERE ${where} AND r.rid > ${after} ORDER BY r.rid LIMIT ${limit}`,
    p.values,
  );
  return searchPage(found.rows, q.count, total && (total.rows[0]?.n ?? 0));
}
