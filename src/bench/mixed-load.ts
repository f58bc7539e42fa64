/** The arithmetic of the mixed-load scenario: client spans, the fairness ratio, kick-off retry waits. */

/** One export of a client: when its (first) kick-off was sent and its manifest arrived, in ms. */
export interface TimedExport {
  kickoffAt: number;
  manifestAt: number;
  resources: number;
}

/** A client's exports taken together: its first kick-off to its last manifest, in ms. */
export interface ClientSpan {
  firstKickoffAt: number;
  lastManifestAt: number;
  resources: number;
}

/** What one mixed run measured, against the same server's run of one client alone. */
export interface MixedSummary {
  /** Resources of every manifest of every client. */
  resources: number;
  /** First kick-off of any client to the last manifest of any client. */
  seconds: number;
  /** `resources / seconds`. */
  rate: number;
  /** Each client's span in the mixed run, in seconds, in client order. */
  clientSeconds: number[];
  /** The client alone, first kick-off to last manifest, in seconds. */
  aloneSeconds: number;
  /** Index of the client with the longest span. */
  slowestClient: number;
  /** The slowest client's span divided by the time alone: the figure with the bar. */
  slowestRatio: number;
  /** The fastest client's span divided by the time alone: far below the slowest when sharing is unfair. */
  fastestRatio: number;
  /**
   * The lowest slowest-client ratio any scheduler could reach in this run: the clients' work divided by
   * the mixed rate, over the time alone (when one client alone keeps every worker busy, N clients of
   * the same workload cannot all finish sooner than about N times its time alone).
   */
  floorRatio: number;
}

/**
 * The span of one client's exports: from the earliest kick-off to the latest manifest.
 * @throws TypeError when `exports` is empty or a manifest precedes its kick-off
 */
export function clientSpan(exports: readonly TimedExport[]): ClientSpan {
  if (exports.length === 0) throw new TypeError('a client span needs at least one export');
  for (const e of exports) {
    if (!(e.manifestAt >= e.kickoffAt)) throw new TypeError('a manifest cannot arrive before its kick-off');
  }
  return {
    firstKickoffAt: Math.min(...exports.map((e) => e.kickoffAt)),
    lastManifestAt: Math.max(...exports.map((e) => e.manifestAt)),
    resources: exports.reduce((n, e) => n + e.resources, 0),
  };
}

const seconds = (span: ClientSpan): number => (span.lastManifestAt - span.firstKickoffAt) / 1000;

/**
 * Aggregate rate and fairness of a mixed run. Every client's span is divided by the span of the same
 * workload run alone; when every client runs the same exports, one client measured alone stands for all.
 * @param alone - the span of one client's workload with no other client on the server
 * @param mixed - one span per client, all measured in the same run
 * @throws TypeError when `mixed` is empty or the time alone is not positive
 */
export function summarizeMixed(alone: ClientSpan, mixed: readonly ClientSpan[]): MixedSummary {
  if (mixed.length === 0) throw new TypeError('a mixed run needs at least one client');
  const aloneSeconds = seconds(alone);
  if (!(aloneSeconds > 0)) throw new TypeError(`the time alone must be positive, got ${aloneSeconds} s`);
  const clientSeconds = mixed.map(seconds);
  const wall = clientSpan(
    mixed.map((s) => ({ kickoffAt: s.firstKickoffAt, manifestAt: s.lastManifestAt, resources: s.resources })),
  );
  const slowest = clientSeconds.indexOf(Math.max(...clientSeconds));
  const wallSeconds = seconds(wall);
  return {
    resources: wall.resources,
    seconds: wallSeconds,
    rate: wallSeconds > 0 ? wall.resources / wallSeconds : 0,
    clientSeconds,
    aloneSeconds,
    slowestClient: slowest,
    slowestRatio: clientSeconds[slowest]! / aloneSeconds,
    fastestRatio: Math.min(...clientSeconds) / aloneSeconds,
    floorRatio: wallSeconds > 0 && wall.resources > 0 ? wallSeconds / aloneSeconds : 0,
  };
}

/** Wait before retrying a kick-off refused with 429 when it names no Retry-After. */
export const DEFAULT_RETRY_WAIT_MS = 1_000;

/**
 * How long to wait before retrying a refused kick-off: the server's Retry-After, else one second.
 * @param retryAfterMs - the parsed Retry-After, or undefined when absent or unreadable
 * @param remainingMs - time left before the run's deadline; the wait never exceeds it
 */
export function retryWaitMs(retryAfterMs: number | undefined, remainingMs: number): number {
  const wanted = retryAfterMs ?? DEFAULT_RETRY_WAIT_MS;
  return Math.max(0, Math.min(wanted, remainingMs));
}
