import { escapeLiteral } from 'pg';

// COPY takes no bind parameters, so the streaming reads inline their values. Only these helpers may
// put a value into SQL text: strings are quoted by the driver's escapeLiteral, numbers checked finite.

/** A string as an SQL literal. */
export function sqlText(value: string): string {
  return escapeLiteral(value);
}

/** A number as an SQL literal. */
export function sqlNumber(value: number): string {
  if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`);
  return String(value);
}

/** Strings as an SQL text[] literal. */
export function sqlTextArray(values: readonly string[]): string {
  return values.length === 0 ? "'{}'::text[]" : `ARRAY[${values.map(sqlText).join(', ')}]::text[]`;
}
