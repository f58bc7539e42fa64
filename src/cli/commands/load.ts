import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../config-error.js';
import { describeProblem, loadPaths, openStore } from '../../store/index.js';
import type { LoadReport } from '../../store/index.js';
import { loadDb } from '../config.js';

const loaded = (r: LoadReport): number => r.created + r.updated + r.unchanged;

/** `fhirhose load`: NDJSON and Bundle files into the store. */
export function registerLoad(program: Command): void {
  program
    .command('load')
    .description('load NDJSON (plain or .gz) and FHIR Bundle files or folders into the store')
    .argument('<paths...>', 'files or folders')
    .option('--db <path-or-url>', 'SQLite database file or postgres:// URL (env FHIRHOSE_DB)')
    .option('--batch <n>', 'at most this many resources per batch (default 50000)', (v) =>
      Number.parseInt(v, 10),
    )
    .option('--quiet', 'no progress lines')
    .action(async (paths: string[], opts: { db?: string; batch?: number; quiet?: boolean }) => {
      // Checked before the store opens, so a typo neither creates a database nor loads half the list.
      const missing = paths.filter((p) => !existsSync(p));
      if (missing.length > 0) {
        throw new ConfigError(
          `${missing.join(', ')}: no such file or folder; give NDJSON (.ndjson, .ndjson.gz) or Bundle (.json) ` +
            'files, or folders holding them',
        );
      }
      const store = await openStore(loadDb(process.env, opts.db));
      let lastPrint = 0;
      try {
        const report = await loadPaths(store, paths, {
          batchSize: opts.batch,
          onProblem: (p) => console.error(describeProblem(p)),
          onProgress: (r) => {
            if (opts.quiet || r.seconds - lastPrint < 1) return;
            lastPrint = r.seconds;
            process.stderr.write(`loaded ${loaded(r)} resources (${Math.round(loaded(r) / r.seconds)}/s)\n`);
          },
        });
        const n = loaded(report);
        console.log(
          `loaded ${n} resources from ${report.files} files in ${report.seconds.toFixed(1)} s ` +
            `(${Math.round(n / Math.max(report.seconds, 1e-3))} resources/s): ` +
            `${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged, ` +
            `${report.deleted} deleted, ${report.rejected} rejected`,
        );
        if (report.rejected > 0) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}
