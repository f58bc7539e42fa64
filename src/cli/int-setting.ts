import { ConfigError } from './config-error.js';

/**
 * An integer setting within [min, max]; an unset or empty value keeps `fallback`.
 * @throws ConfigError naming the setting, for a value that is not an integer in the range
 */
export function intInRange(
  name: string,
  raw: string | undefined,
  fallback: number,
  range: { min: number; max: number },
): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw new ConfigError(`${name} must be an integer from ${range.min} to ${range.max}, got '${raw}'`);
  }
  return n;
}
