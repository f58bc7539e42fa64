/** How Group and patient-list exports read the store (docs/export.md, "How Group exports are read"). */
export type ExportReadPath = 'auto' | 'types' | 'members';

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
  /** Unfinished (queued or running) jobs one client may have; one more gets 429. Kept finished jobs never count. */
  maxQueuedJobsPerClient: number;
  /**
   * A unit that has run this long checks whether another client's work is waiting, and if so
   * checkpoints and gives its worker back (only units that can resume: filtered or projected scans).
   */
  unitSliceMs: number;
  /** Units per manifest page when the client allows partial manifests. */
  manifestPageUnits: number;
  /** A unit that fails this many times is reported in `error` and the job goes on. */
  maxAttempts: number;
  /**
   * How Group and patient-list exports read: `members` through the compartment index, patient by
   * patient; `types` by scanning each type; `auto` picks by the members' share of the patients.
   */
  readPath: ExportReadPath;
  /**
   * The server's public base URL: exported relative `Attachment.url` values are resolved against it.
   * Unset (tests of the engine alone), they are exported as stored.
   */
  baseUrl?: string;
  /**
   * Internal, not a setting: false parses every row of filtered and projected scans instead of
   * pre-checking and projecting on stored bytes, so tests can compare the two paths' output.
   */
  rawRows?: boolean;
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
  // Certification kits start several exports at once and keep finished ones: queue them, and refuse
  // only a client that piles up more than this (429 with Retry-After).
  maxQueuedJobsPerClient: 20,
  // A few seconds: another client waits at most this long for a worker a heavy job holds, while a
  // checkpoint (a file commit and a lease round trip, a few ms) stays rare.
  unitSliceMs: 3_000,
  maxAttempts: 3,
  manifestPageUnits: 50,
  readPath: 'auto',
});
