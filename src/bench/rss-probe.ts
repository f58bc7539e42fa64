// Loaded with `node --import` into a child the bench starts: on exit it writes the process's peak
// resident set size (getrusage ru_maxrss, in KiB) to stderr, so the bench reads the exact peak of a
// process that is gone by the time it could look in /proc.
import { writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { RSS_PROBE_MARK } from './probe-mark.js';

// --import runs in worker threads too; only the main thread reports, when the process ends.
if (isMainThread) {
  process.on('exit', () => {
    writeSync(2, `\n${RSS_PROBE_MARK} ${process.resourceUsage().maxRSS}\n`);
  });
}
