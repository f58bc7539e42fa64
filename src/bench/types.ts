/** A quality bar from DESIGN.md: `>=` is checked against the median, `<=` against the worst run. */
export interface Bar {
  op: '>=' | '<=';
  value: number;
}

/** One measured figure: every run's value, and their median, minimum and maximum. */
export interface Figure {
  /** Stable key, e.g. `export.system.rate`. */
  id: string;
  label: string;
  unit: string;
  runs: number[];
  median: number;
  min: number;
  max: number;
  bar?: Bar;
  /** Whether the bar is met; absent without a bar. */
  pass?: boolean;
  /** How the figure was measured, when the label does not say it. */
  note?: string;
}

/** Something not measured, and why. */
export interface Skipped {
  what: string;
  reason: string;
}

/** The machine a bench ran on, and how busy it was. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryMb: number;
  node: string;
  platform: string;
  /** 1-minute load averages sampled every few seconds during the bench. */
  loadAverage: { start: number; mean: number; max: number; end: number };
}

/** Everything `fhirhose bench` measured, as written to `--json`. */
export interface BenchReport {
  startedAt: string;
  totalSeconds: number;
  command: string;
  options: { resources: number; runs: number; only?: string[] };
  machine: MachineInfo;
  /** Resources generated and loaded. */
  dataset: { resources: number; patients: number; ndjsonBytes: number };
  figures: Figure[];
  skipped: Skipped[];
  /** Scenarios that failed, with the error: their figures are missing. */
  failures: Skipped[];
  /** Raw per-run details (counts, sample sizes, byte totals) behind the figures. */
  details: Record<string, unknown>;
}
