/**
 * The `hold` metric of a Server-Timing header (W3C Server Timing), in ms: how long a server held a
 * status poll sent with `Prefer: wait`; 0 without one.
 */
export function serverTimingHoldMs(header: string | string[] | undefined): number {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  const m = /(?:^|,)\s*hold\s*;[^,]*\bdur=([\d.]+)/.exec(text);
  return m ? Number(m[1]) : 0;
}
