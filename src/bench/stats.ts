/** Median, minimum and maximum of a set of runs, as every bench figure is reported. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Number of runs. */
  n: number;
}

/**
 * The median (mean of the two middle values for an even count), minimum and maximum.
 * @param values - one value per run; at least one
 * @throws TypeError when `values` is empty or holds a non-finite number
 */
export function spread(values: readonly number[]): Spread {
  const sorted = sortedFinite(values);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, n: sorted.length };
}

/**
 * The nearest-rank percentile: the smallest sample with at least `p` percent of samples at or below it.
 * With few samples, p99 is the maximum: say how many samples a percentile came from.
 * @param values - latency samples; at least one
 * @param p - percentile from 0 to 100
 * @throws TypeError when `values` is empty or `p` is out of range
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new TypeError(`percentile must be from 0 to 100, got ${p}`);
  const sorted = sortedFinite(values);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

function sortedFinite(values: readonly number[]): number[] {
  if (values.length === 0) throw new TypeError('no values');
  if (!values.every(Number.isFinite)) throw new TypeError('values must be finite numbers');
  return [...values].sort((a, b) => a - b);
}
