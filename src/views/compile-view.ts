import { constantLiterals, substituteConstants } from './constants.js';
import { InvalidViewDefinitionError } from './errors.js';
import { FALLBACK, compileFastPath } from './fast-path.js';
import { compileFhirpath } from './fhirpath-getter.js';
import type { Getter } from './fhirpath-getter.js';
import { rootPath } from './model-path.js';
import type { ModelPath } from './model-path.js';
import { validateViewStructure } from './validate.js';
import type { ColumnInfo, ViewRow, ViewSelect } from './view-definition.js';

/** One compiled column. */
export interface CompiledColumn {
  name: string;
  /** The column's position in the view's column order (its index in a row's values). */
  slot: number;
  get: Getter;
  collection: boolean;
  /** Where the column sits in the view (`select[0].column[1]`), for error messages. */
  at: string;
}

/** One compiled `select` structure. */
export interface CompiledSelect {
  columns: CompiledColumn[];
  iteration: { kind: 'forEach' | 'forEachOrNull' | 'repeat'; getters: Getter[] } | undefined;
  selects: CompiledSelect[];
  unionAll: CompiledSelect[];
  /** Every column under this structure, in column order. */
  names: string[];
  /** The slots of `names`: the values a row of this structure sets. */
  slots: number[];
  /** The row `forEachOrNull` gives when nothing matches: nulls, and 0 for `%rowIndex` columns. */
  nullRow: ViewRow;
  /** {@link nullRow} as values by slot (undefined outside this structure). */
  nullValues: unknown[];
}

/** A validated view with every path compiled once. */
export interface CompiledView {
  resource: string;
  columns: ColumnInfo[];
  where: { get: Getter; at: string }[];
  root: CompiledSelect;
}

/** Where the foci of a structure sit: the model path for the fast path, the base for fhirpath.js. */
interface Focus {
  model: ModelPath | undefined;
  base: string | undefined;
}

interface Compiler {
  literals: ReadonlyMap<string, string>;
  fastPath: boolean;
  /** Column name to its slot in the view's column order. */
  slots: ReadonlyMap<string, number>;
}

/** Options of {@link compileView}. */
export interface CompileViewOptions {
  /** Walk simple paths directly instead of through fhirpath.js (default true; tests compare both). */
  fastPath?: boolean;
}

function getter(
  c: Compiler,
  path: string,
  at: string,
  focus: Focus,
): { get: Getter; fast: boolean; next: Focus } {
  const text = substituteConstants(path, c.literals, at);
  const fast = c.fastPath ? compileFastPath(text, focus.model) : undefined;
  if (!fast) {
    const slow = compileFhirpath(text, at, focus.base);
    return { get: slow, fast: false, next: { model: undefined, base: undefined } };
  }
  // The fast subset is valid FHIRPath by construction, so fhirpath.js (about 16 MB of RSS in each
  // thread that loads it) is compiled only when data needs it (a primitive with an extension). The
  // export's worker threads then never load it for views of simple paths.
  let slow: Getter | undefined;
  const get: Getter = (node, rowIndex) => {
    const r = fast.get(node, rowIndex);
    if (r !== FALLBACK) return r;
    slow ??= compileFhirpath(text, at, focus.base);
    return slow(node, rowIndex);
  };
  const next = fast.result
    ? { model: fast.result, base: fast.result.element }
    : { model: undefined, base: undefined };
  return { get, fast: true, next };
}

const UNKNOWN: Focus = { model: undefined, base: undefined };

/** The iteration of a structure, if any, and where its foci sit. */
function compileIteration(
  c: Compiler,
  s: ViewSelect,
  at: string,
  parent: Focus,
): { iteration: CompiledSelect['iteration']; focus: Focus } {
  const kind =
    s.forEach !== undefined ? 'forEach' : s.forEachOrNull !== undefined ? 'forEachOrNull' : undefined;
  if (kind !== undefined) {
    const loc = `${at}${kind}`;
    const g = getter(c, s[kind]!, loc, parent);
    if (g.fast && g.next.base !== undefined) return { iteration: { kind, getters: [g.get] }, focus: g.next };
    // fhirpath.js's own results carry their element path; fast results of unknown element would not.
    const slow = g.fast
      ? compileFhirpath(substituteConstants(s[kind]!, c.literals, loc), loc, parent.base)
      : g.get;
    return { iteration: { kind, getters: [slow] }, focus: UNKNOWN };
  }
  if (s.repeat === undefined) return { iteration: undefined, focus: parent };
  const getters = s.repeat.map((p, i) => {
    const loc = `${at}repeat[${i}]`;
    return compileFhirpath(substituteConstants(p, c.literals, loc), loc, parent.base);
  });
  return { iteration: { kind: 'repeat', getters }, focus: UNKNOWN };
}

function checkUnionBranches(unionAll: CompiledSelect[], at: string): void {
  const first = unionAll[0]?.names.join(', ');
  unionAll.forEach((branch, i) => {
    const names = branch.names.join(', ');
    if (names !== first) {
      throw new InvalidViewDefinitionError(
        `${at}unionAll[${i}] has columns (${names}) unlike unionAll[0] (${first})`,
        {
          expression: `${at}unionAll[${i}]`,
        },
      );
    }
  });
}

/** Nulls for every column under a structure, but 0 for its `%rowIndex` columns (the spec's null row). */
function nullRowOf(names: string[], rowIndexColumns: string[], children: CompiledSelect[]): ViewRow {
  const row: ViewRow = {};
  for (const name of names) row[name] = null;
  for (const name of rowIndexColumns) row[name] = 0;
  for (const child of children) {
    for (const [k, v] of Object.entries(child.nullRow)) if (v !== null) row[k] = v;
  }
  return row;
}

function compileSelect(c: Compiler, s: ViewSelect, where: string, parent: Focus): CompiledSelect {
  // The root structure is implicit, so its children are named `select[0]`, not `.select[0]`.
  const at = where === '' ? '' : `${where}.`;
  const { iteration, focus } = compileIteration(c, s, at, parent);
  const columns = (s.column ?? []).map((col, i) => ({
    name: col.name,
    slot: c.slots.get(col.name)!,
    get: getter(c, col.path, `${at}column[${i}].path`, focus).get,
    collection: col.collection === true,
    at: `${at}column[${i}]`,
  }));
  const selects = (s.select ?? []).map((x, i) => compileSelect(c, x, `${at}select[${i}]`, focus));
  const unionAll = (s.unionAll ?? []).map((x, i) => compileSelect(c, x, `${at}unionAll[${i}]`, focus));
  checkUnionBranches(unionAll, at);
  const names = [
    ...columns.map((x) => x.name),
    ...selects.flatMap((x) => x.names),
    ...(unionAll[0]?.names ?? []),
  ];
  const rowIndexColumns = (s.column ?? [])
    .filter((col) => col.path.trim() === '%rowIndex')
    .map((col) => col.name);
  const nullRow = nullRowOf(names, rowIndexColumns, [...selects, ...unionAll.slice(0, 1)]);
  const slots = names.map((name) => c.slots.get(name)!);
  const nullValues: unknown[] = [];
  for (const [name, value] of Object.entries(nullRow)) nullValues[c.slots.get(name)!] = value;
  return { columns, iteration, selects, unionAll, names, slots, nullRow, nullValues };
}

function columnInfos(s: ViewSelect): ColumnInfo[] {
  return [
    ...(s.column ?? []).map((c) => ({ name: c.name, type: c.type, collection: c.collection === true })),
    ...(s.select ?? []).flatMap(columnInfos),
    ...(s.unionAll?.[0] ? columnInfos(s.unionAll[0]) : []),
  ];
}

/**
 * Validates a ViewDefinition and compiles every path in it once, with the fast path where a path
 * allows it. Throws InvalidViewDefinitionError naming the element at fault.
 */
export function compileView(input: unknown, options: CompileViewOptions = {}): CompiledView {
  const view = validateViewStructure(input);
  const columns = columnInfos({ select: view.select });
  const seen = new Set<string>();
  for (const col of columns) {
    if (seen.has(col.name)) {
      throw new InvalidViewDefinitionError(`column ${col.name} is defined twice`, { expression: col.name });
    }
    seen.add(col.name);
  }
  const c: Compiler = {
    literals: constantLiterals(view.constant),
    fastPath: options.fastPath !== false,
    slots: new Map(columns.map((col, i) => [col.name, i])),
  };
  const focus: Focus = { model: rootPath(view.resource), base: undefined };
  const where = (view.where ?? []).map((w, i) => {
    const at = `where[${i}].path`;
    return { get: getter(c, w.path, at, focus).get, at };
  });
  const root = compileSelect(c, { select: view.select }, '', focus);
  return { resource: view.resource, columns, where, root };
}
