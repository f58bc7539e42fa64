import type { Figure } from './types.js';

/** A number for a person: thousands separators from 100 up, one decimal from 10, two below. */
export function formatValue(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** The quality bar of a figure as text (`>= 150,000`), or '' when it has none. */
export function formatBar(figure: Figure): string {
  if (!figure.bar) return '';
  const verdict = figure.pass === undefined ? '' : figure.pass ? ' ok' : ' MISSED';
  return `${figure.bar.op} ${formatValue(figure.bar.value)}${verdict}`;
}

/**
 * A plain-text table: the first column left-aligned, the others right-aligned, two spaces apart.
 * @param header - column titles
 * @param rows - cells, as many per row as titles
 * @throws TypeError when a row has the wrong number of cells
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  for (const row of rows) {
    if (row.length !== header.length)
      throw new TypeError(`row has ${row.length} cells, expected ${header.length}`);
  }
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...all.map((row) => row[col]!.length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** The figures as a table: figure, median, min, max, unit, runs, quality bar. */
export function figureTable(figures: readonly Figure[]): string {
  const header = ['figure', 'median', 'min', 'max', 'unit', 'runs', 'bar'];
  const rows = figures.map((f) => [
    f.label,
    formatValue(f.median),
    formatValue(f.min),
    formatValue(f.max),
    f.unit,
    String(f.runs.length),
    formatBar(f),
  ]);
  return formatTable(header, rows);
}
