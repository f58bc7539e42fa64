/** Export engine settings (defaults in DEFAULT_EXPORT_CONFIG; documented in docs/config.md). */
export interface ExportConfig {
  /** Worker threads that run units inside the server process (0: none, e.g. separate workers). */
  workers: number;
  /** A unit lease lasts this long without a heartbeat. */
  leaseMs: number;
  /** Heartbeat (and cancel check) interval while a unit runs. */
  heartbeatMs: number;
  /** Idle workers look for work this often, besides being woken on kick-off. */
  idlePollMs: number;
  /** Start a new output file past this many bytes. */
  fileMaxBytes: number;
  /** Split a type into units of about this many rows. */
  rowsPerUnit: number;
  /** Files are kept this long after the job completes. */
  fileTtlMs: number;
  /** Retry-After advertised while a job runs. */
  retryAfterSeconds: number;
  /** Running jobs one client may have at once; one more gets 429. */
  maxActiveJobsPerClient: number;
  /** Units per manifest page when the client allows partial manifests. */
  manifestPageUnits: number;
  /** A unit that fails this many times is reported in `error` and the job goes on. */
  maxAttempts: number;
}

/** Defaults suited to one 2-core machine. */
export const DEFAULT_EXPORT_CONFIG: Readonly<ExportConfig> = Object.freeze({
  workers: 2,
  leaseMs: 15_000,
  heartbeatMs: 2_000,
  idlePollMs: 500,
  fileMaxBytes: 256 * 1024 * 1024,
  rowsPerUnit: 100_000,
  fileTtlMs: 24 * 3600 * 1000,
  retryAfterSeconds: 2,
  // IG kick-off: a client that already has a running export SHOULD get 429.
  maxActiveJobsPerClient: 1,
  maxAttempts: 3,
  manifestPageUnits: 50,
});
