import type { RowValues, ViewRow } from '../views/index.js';
import type { Columns } from './types.js';

/** A row object's values in column order, `null` for a missing column (rows built outside a runner). */
export function valuesOf(columns: Columns, row: ViewRow): RowValues {
  const values: RowValues = new Array<unknown>(columns.length);
  for (let k = 0; k < columns.length; k++) values[k] = row[columns[k]!.name] ?? null;
  return values;
}
