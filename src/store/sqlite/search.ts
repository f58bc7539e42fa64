import type Database from 'better-sqlite3';
import { InvalidRequestError } from '../../fhir/index.js';
import { checkSearchFields } from '../search-check.js';
import type { DateComparison, SearchPage, SearchQuery, StoredResource } from '../types.js';

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

// `patient` matches the compartment param of that name, or `subject` for types whose patient param is subject.
const PARAM_ALIASES: Record<string, string[]> = { patient: ['patient', 'subject'], subject: ['subject'] };

function clauses(q: SearchQuery): Clause[] {
  const out: Clause[] = [];
  if (q.ids) out.push({ sql: `r.id IN (${marks(q.ids.length)})`, params: q.ids });
  for (const c of q.lastUpdated ?? []) out.push(dateClause(c));
  for (const ref of q.references ?? []) {
    const params = PARAM_ALIASES[ref.param] ?? [ref.param];
    out.push({
      sql: `EXISTS (SELECT 1 FROM compartment c WHERE c.rid = r.rid
              AND c.param IN (${marks(params.length)}) AND c.patient_id IN (${marks(ref.targets.length)}))`,
      params: [...params, ...ref.targets.map((t) => (t.startsWith('Patient/') ? t.slice(8) : t))],
    });
  }
  if (q.type === 'ViewDefinition') out.push(...viewClauses(q));
  else if (q.name) {
    const test = q.name.exact ? 's.value = ?' : "lower(s.value) LIKE ? ESCAPE '\\'";
    const values = q.name.exact
      ? q.name.values
      : q.name.values.map((v) => `${v.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`);
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
    const values = q.name.exact
      ? q.name.values
      : q.name.values.map((v) => `${v.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`);
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

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const n = Number.parseInt(Buffer.from(cursor, 'base64url').toString('utf8'), 10);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidRequestError('invalid paging cursor', { expression: '_cursor' });
  return n;
}

/** Run a REST search against current versions, paging by rowid (keyset, never OFFSET). */
export function sqliteSearch(db: Database.Database, q: SearchQuery): SearchPage {
  checkSearchFields(q);
  const where = [{ sql: 'r.type = ?', params: [q.type] as unknown[] }, ...clauses(q)];
  const whereSql = where.map((c) => c.sql).join(' AND ');
  const params = where.flatMap((c) => c.params);
  const total = (
    db.prepare(`SELECT count(*) AS n FROM resource r WHERE ${whereSql}`).get(...params) as { n: number }
  ).n;
  const after = decodeCursor(q.cursor);
  const rows = db
    .prepare(
      `SELECT r.rid, r.type, r.id, r.version, r.last_updated, r.json FROM resource r
       WHERE ${whereSql} AND r.rid > ? ORDER BY r.rid LIMIT ?`,
    )
    .all(...params, after, q.count + 1) as {
    rid: number;
    type: string;
    id: string;
    version: number;
    last_updated: number;
    json: string;
  }[];
  const page = rows.slice(0, q.count);
  const resources: StoredResource[] = page.map((r) => ({
    type: r.type,
    id: r.id,
    versionId: r.version,
    lastUpdated: r.last_updated,
    json: r.json,
  }));
  const last = page[page.length - 1];
  const result: SearchPage = { resources, total };
  if (rows.length > q.count && last)
    result.next = Buffer.from(String(last.rid), 'utf8').toString('base64url');
  return result;
}
