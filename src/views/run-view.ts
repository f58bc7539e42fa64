import { compileView } from './compile-view.js';
import type { CompileViewOptions, CompiledView } from './compile-view.js';
import { rowValuesOf, rowsOf } from './rows.js';
import type { ColumnInfo, RowValues, ViewRow } from './view-definition.js';

/** A compiled view, ready to turn resources into rows one at a time. */
export interface ViewRunner {
  /** The view's resource type; other resources give no rows. */
  readonly resource: string;
  /** The output columns, in the view's column order. */
  readonly columns: readonly ColumnInfo[];
  /** The rows of one resource (none for another type or one a `where` drops). */
  rows(resource: unknown): ViewRow[];
  /** The same rows as values in column order: no object per row, for the table writers. */
  values(resource: unknown): RowValues[];
}

/** Validates and compiles `view` once; throws InvalidViewDefinitionError when it is invalid. */
export function createViewRunner(view: unknown, options: CompileViewOptions = {}): ViewRunner {
  const compiled: CompiledView = compileView(view, options);
  return {
    resource: compiled.resource,
    columns: compiled.columns,
    rows: (resource) => rowsOf(compiled, resource),
    values: (resource) => rowValuesOf(compiled, resource),
  };
}

/** The rows of `view` over `resources`, in input order, as a lazy iterable. */
export function* runView(view: unknown, resources: Iterable<unknown>): Generator<ViewRow> {
  const runner = createViewRunner(view);
  for (const resource of resources) yield* runner.rows(resource);
}

/** The rows of `view` over an async stream of resources (the export engine's store scans). */
export async function* runViewAsync(
  view: unknown,
  resources: AsyncIterable<unknown>,
): AsyncGenerator<ViewRow> {
  const runner = createViewRunner(view);
  for await (const resource of resources) yield* runner.rows(resource);
}
