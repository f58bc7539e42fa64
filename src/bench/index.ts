// The benchmark: `fhirhose bench` measures every hot path with child-process servers and clients.
export { runBench, SCENARIOS, SMALL_RESOURCES } from './bench.js';
export type { BenchOptions, ScenarioName } from './bench.js';
export { figureTable, formatTable, formatValue } from './format.js';
export { percentile, spread } from './stats.js';
export type { Spread } from './stats.js';
export type { BenchReport, Figure, MachineInfo, Skipped } from './types.js';
