import { DEFAULT_KICKOFF_LIMITS, KICKOFF_LIMIT_SETTINGS } from '../export/index.js';
import type { KickoffLimits } from '../export/index.js';
import { intInRange } from './int-setting.js';

/**
 * The range of each limit. A body is read into one string before it is parsed, so its limit stays
 * far below V8's largest string (about 512 MiB) and large enough for a small Parameters body.
 */
const RANGES: Readonly<Record<keyof KickoffLimits, readonly [number, number]>> = {
  maxTypeFilters: [1, 1_000_000],
  maxFilterOrValues: [1, 1_000_000],
  maxFilterChars: [1, 256 * 1024 * 1024],
  maxTypes: [1, 1_000_000],
  maxPatients: [1, 10_000_000],
  maxBodyBytes: [1024, 256 * 1024 * 1024],
};

/**
 * The kick-off limits from the variables KICKOFF_LIMIT_SETTINGS names; an unset or empty variable
 * keeps the default.
 * @throws ConfigError naming the variable, for a value that is not an integer in its range
 */
export function loadKickoffLimits(env: NodeJS.ProcessEnv): Readonly<KickoffLimits> {
  const limits = { ...DEFAULT_KICKOFF_LIMITS };
  for (const key of Object.keys(RANGES) as (keyof KickoffLimits)[]) {
    const [min, max] = RANGES[key];
    limits[key] = intInRange(KICKOFF_LIMIT_SETTINGS[key], env[KICKOFF_LIMIT_SETTINGS[key]], limits[key], {
      min,
      max,
    });
  }
  return Object.freeze(limits);
}
