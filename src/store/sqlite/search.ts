import type Database from 'better-sqlite3';
import { checkSearchFields } from '../search-check.js';
import type { DateComparison, SearchPage, SearchQuery } from '../types.js';
import { compartmentParams, decodeCursor, nameValues, searchPage, targetIds } from '../search-page.js';
import type { VersionRow } from '../stored-row.js';

interface Clause {
  sql: string;
  params: unknown[];
}

function dateClause(c: DateComparison): Clause {
  const col = 'r.last_updated';
  switch (c.prefix) {
    case 'eq':
      return { sql: `(${col} >= ? AND ${col} < ?)`, params: [c.start, c.end] };
    case 'ne':
      return { sql: `(${col} < ? OR ${col} >= ?)`, params: [c.start, c.end] };
    case 'gt':
    case 'sa':
      return { sql: `${col} >= ?`, params: [c.end] };
    case 'ge':
      return { sql: `${col} >= ?`, params: [c.start] };
    case 'lt':
    case 'eb':
      return { sql: `${col} < ?`, params: [c.start] };
    case 'le':
      return { sql: `${col} < ?`, params: [c.end] };
  }
}

const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

function clauses(q: SearchQuery): Clause[] {
  const out: Clause[] = [];
  if (q.ids) out.push({ sql: `r.id IN (${marks(q.ids.length)})`, params: q.ids });
  for (const c of q.lastUpdated ?? []) out.push(dateClause(c));
  for (const ref of q.references ?? []) {
    const params = compartmentParams(ref.param);
    out.push({
      sql: `EXISTS (SELECT 1 FROM compartment c WHERE c.rid = r.rid
              AND c.param IN (${marks(params.length)}) AND c.patient_id IN (${marks(ref.targets.length)}))`,
      params: [...params, ...targetIds(ref.targets)],
    });
  }
  if (q.type === 'ViewDefinition') out.push(...viewClauses(q));
  else if (q.name) {
    const test = q.name.exact ? 's.value = ?' : "lower(s.value) LIKE ? ESCAPE '\\'";
    const values = nameValues(q.name);
    out.push({
      sql: `EXISTS (SELECT 1 FROM group_search s WHERE s.group_id = r.id AND s.kind = 'name'
              AND (${values.map(() => test).join(' OR ')}))`,
      params: values,
    });
  }
  if (q.identifier) {
    const parts = q.identifier.map((v) =>
      v.includes('|')
        ? { sql: "(s.kind = 'identifier' AND s.value = ?)", params: [v] }
        : { sql: "(s.kind = 'identifier-value' AND s.value = ?)", params: [v] },
    );
    out.push({
      sql: `EXISTS (SELECT 1 FROM group_search s WHERE s.group_id = r.id AND (${parts.map((p) => p.sql).join(' OR ')}))`,
      params: parts.flatMap((p) => p.params),
    });
  }
  return out;
}

// ViewDefinitions are few and small, so their search reads the stored JSON instead of an index table.
function viewClauses(q: SearchQuery): Clause[] {
  const out: Clause[] = [];
  if (q.name) {
    const test = q.name.exact
      ? "json_extract(r.json, '$.name') = ?"
      : "lower(json_extract(r.json, '$.name')) LIKE ? ESCAPE '\\'";
    const values = nameValues(q.name);
    out.push({ sql: `(${values.map(() => test).join(' OR ')})`, params: values });
  }
  if (q.url) {
    const parts = q.url.map((u) =>
      u.version === undefined
        ? { sql: "json_extract(r.json, '$.url') = ?", params: [u.url] }
        : {
            sql: "(json_extract(r.json, '$.url') = ? AND json_extract(r.json, '$.version') = ?)",
            params: [u.url, u.version],
          },
    );
    out.push({ sql: `(${parts.map((p) => p.sql).join(' OR ')})`, params: parts.flatMap((p) => p.params) });
  }
  if (q.status) {
    out.push({ sql: `json_extract(r.json, '$.status') IN (${marks(q.status.length)})`, params: q.status });
  }
  return out;
}

/** Run a REST search against current versions, paging by rowid (keyset, never OFFSET). */
export function sqliteSearch(db: Database.Database, q: SearchQuery): SearchPage {
  checkSearchFields(q);
  const where = [{ sql: 'r.type = ?', params: [q.type] as unknown[] }, ...clauses(q)];
  const whereSql = where.map((c) => c.sql).join(' AND ');
  const params = where.flatMap((c) => c.params);
  // Counting reads every match: only for a search that asks (a page reads `count + 1` rows).
  const total = q.total
    ? (db.prepare(`SELECT count(*) AS n FROM resource r WHERE ${whereSql}`).get(...params) as { n: number }).n
    : undefined;
  const rows = db
    .prepare<unknown[], VersionRow & { rid: number }>(
      `SELECT r.rid, r.type, r.id, r.version, r.last_updated, r.json FROM resource r
       WHERE ${whereSql} AND r.rid > ? ORDER BY r.rid LIMIT ?`,
    )
    .all(...params, decodeCursor(q.cursor), q.count + 1);
  return searchPage(rows, q.count, total);
}
