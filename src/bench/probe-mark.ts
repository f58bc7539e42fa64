/** Prefix of the line the exit probe (rss-probe.ts) writes to a child's stderr. */
export const RSS_PROBE_MARK = 'fhirhose-bench-max-rss-kib';
