import type { CompiledSelect, CompiledView } from './compile-view.js';
import { ViewEvaluationError } from './errors.js';
import type { RowValues, ViewRow } from './view-definition.js';

// Rows are built as values by slot (the view's column order), each structure setting only its own
// slots, so joining a parent's row with a child's copies a few values instead of merging objects.
// Most rows of most views are one row per structure: those are joined in place, with no copy.

/** The cross join of `left` and `right`, where `right` sets only `slots`; `left` may be reused. */
function product(left: RowValues[], right: RowValues[], slots: readonly number[]): RowValues[] {
  if (left.length === 0 || right.length === 0) return [];
  if (left.length === 1 && right.length === 1) {
    const a = left[0]!;
    const b = right[0]!;
    for (let k = 0; k < slots.length; k++) a[slots[k]!] = b[slots[k]!];
    return left;
  }
  const out: RowValues[] = [];
  for (const a of left) {
    for (const b of right) {
      const c = a.slice();
      for (let k = 0; k < slots.length; k++) c[slots[k]!] = b[slots[k]!];
      out.push(c);
    }
  }
  return out;
}

function ownRow(s: CompiledSelect, focus: unknown, rowIndex: number, width: number): RowValues {
  const row: RowValues = new Array<unknown>(width);
  for (let k = 0; k < s.columns.length; k++) {
    const col = s.columns[k]!;
    const values = col.get(focus, rowIndex);
    if (col.collection) row[col.slot] = values.slice();
    else if (values.length === 0) row[col.slot] = null;
    else if (values.length === 1) row[col.slot] = values[0];
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

/** The rows of one focus of a structure: its own columns joined with its children's rows. */
function focusRows(s: CompiledSelect, focus: unknown, index: number, width: number): RowValues[] {
  let rows = [ownRow(s, focus, index, width)];
  for (const child of s.selects) rows = product(rows, processSelect(child, focus, index, width), child.slots);
  if (s.unionAll.length === 0) return rows;
  const branches: RowValues[] = [];
  for (const branch of s.unionAll) {
    for (const row of processSelect(branch, focus, index, width)) branches.push(row);
  }
  // Every branch has the columns of the first (checked when the view compiled).
  return product(rows, branches, s.unionAll[0]!.slots);
}

/** The rows of one structure on one node: the spec's Process(S, node). */
function processSelect(s: CompiledSelect, node: unknown, rowIndex: number, width: number): RowValues[] {
  if (!s.iteration) return focusRows(s, node, rowIndex, width);
  const nodes = foci(s, node, rowIndex);
  if (nodes.length === 0) return s.iteration.kind === 'forEachOrNull' ? [s.nullValues.slice()] : [];
  if (nodes.length === 1) return focusRows(s, nodes[0], 0, width);
  const out: RowValues[] = [];
  for (let i = 0; i < nodes.length; i++) {
    for (const row of focusRows(s, nodes[i], i, width)) out.push(row);
  }
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
 * The rows of one resource as values in the view's column order, `null` where a column is empty.
 * A resource of another type than the view's, or one a `where` drops, gives no rows.
 */
export function rowValuesOf(view: CompiledView, resource: unknown): RowValues[] {
  if ((resource as { resourceType?: unknown } | null)?.resourceType !== view.resource) return [];
  if (!kept(view, resource)) return [];
  const width = view.columns.length;
  const rows = processSelect(view.root, resource, 0, width);
  for (const row of rows) {
    for (let k = 0; k < width; k++) if (row[k] === undefined) row[k] = null;
  }
  return rows;
}

/** One row's values as an object keyed by column name, in column order. */
export function rowObject(view: CompiledView, values: RowValues): ViewRow {
  const row: ViewRow = {};
  for (let k = 0; k < view.columns.length; k++) row[view.columns[k]!.name] = values[k];
  return row;
}

/**
 * The rows of one resource, each with every column of the view in column order. A resource of
 * another type than the view's, or one a `where` drops, gives no rows.
 */
export function rowsOf(view: CompiledView, resource: unknown): ViewRow[] {
  return rowValuesOf(view, resource).map((values) => rowObject(view, values));
}
