import type { CompiledSelect, CompiledView } from './compile-view.js';
import { ViewEvaluationError } from './errors.js';
import type { ViewRow } from './view-definition.js';

function product(left: ViewRow[], right: ViewRow[]): ViewRow[] {
  if (left.length === 0 || right.length === 0) return [];
  if (left.length === 1 && right.length === 1) return [Object.assign({}, left[0], right[0])];
  const out: ViewRow[] = [];
  for (const a of left) for (const b of right) out.push(Object.assign({}, a, b));
  return out;
}

function ownRow(s: CompiledSelect, focus: unknown, rowIndex: number): ViewRow {
  const row: ViewRow = {};
  for (const col of s.columns) {
    const values = col.get(focus, rowIndex);
    if (col.collection) row[col.name] = values.slice();
    else if (values.length === 0) row[col.name] = null;
    else if (values.length === 1) row[col.name] = values[0];
    else {
      throw new ViewEvaluationError(
        `column ${col.name} gave ${values.length} values; set collection: true to keep them all`,
        { expression: col.at },
      );
    }
  }
  return row;
}

function foci(s: CompiledSelect, node: unknown, rowIndex: number): unknown[] {
  const iteration = s.iteration!;
  if (iteration.kind !== 'repeat') return iteration.getters[0]!(node, rowIndex);
  // Depth first, pre-order, the start node excluded (the spec's repeat order).
  const out: unknown[] = [];
  const walk = (from: unknown): void => {
    for (const get of iteration.getters) {
      for (const child of get(from, rowIndex)) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(node);
  return out;
}

/** The rows of one structure on one node: the spec's Process(S, node). */
function processSelect(s: CompiledSelect, node: unknown, rowIndex: number): ViewRow[] {
  let nodes: unknown[] = [node];
  if (s.iteration) {
    nodes = foci(s, node, rowIndex);
    if (nodes.length === 0) return s.iteration.kind === 'forEachOrNull' ? [{ ...s.nullRow }] : [];
  }
  const out: ViewRow[] = [];
  nodes.forEach((focus, i) => {
    const index = s.iteration ? i : rowIndex;
    let rows = [ownRow(s, focus, index)];
    for (const child of s.selects) rows = product(rows, processSelect(child, focus, index));
    if (s.unionAll.length > 0) {
      rows = product(
        rows,
        s.unionAll.flatMap((branch) => processSelect(branch, focus, index)),
      );
    }
    for (const row of rows) out.push(row);
  });
  return out;
}

function kept(view: CompiledView, resource: unknown): boolean {
  for (const w of view.where) {
    const result = w.get(resource, 0);
    if (result.length === 0) return false;
    if (result.length > 1 || typeof result[0] !== 'boolean') {
      throw new ViewEvaluationError(`${w.at} must give a boolean`, { expression: w.at });
    }
    if (!result[0]) return false;
  }
  return true;
}

/**
 * The rows of one resource, each with every column of the view in column order. A resource of
 * another type than the view's, or one a `where` drops, gives no rows.
 */
export function rowsOf(view: CompiledView, resource: unknown): ViewRow[] {
  if ((resource as { resourceType?: unknown } | null)?.resourceType !== view.resource) return [];
  if (!kept(view, resource)) return [];
  const rows = processSelect(view.root, resource, 0);
  return rows.map((row) => {
    const ordered: ViewRow = {};
    for (const col of view.columns) ordered[col.name] = row[col.name] ?? null;
    return ordered;
  });
}
