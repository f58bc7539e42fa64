import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { SCENARIOS, figureTable, runBench } from '../../bench/index.js';
import type { BenchReport, ScenarioName } from '../../bench/index.js';
import { withPgUser } from '../config.js';

interface BenchFlags {
  resources: number;
  runs: number;
  json?: string;
  dir?: string;
  only?: ScenarioName[];
  profile?: string;
  pg?: string;
}

const SUFFIX: Record<string, number> = { '': 1, k: 1_000, m: 1_000_000 };

function parseCount(value: string): number {
  const m = /^(\d[\d_]*(?:\.\d+)?)([kKmM]?)$/.exec(value.trim());
  const n = m ? Number(m[1]!.replaceAll('_', '')) * SUFFIX[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('expected a positive integer such as 100k or 1M');
  return n;
}

function parseRuns(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function parseOnly(value: string): ScenarioName[] {
  const names = value.split(',').map((s) => s.trim().toLowerCase());
  const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
  if (unknown.length)
    throw new InvalidArgumentError(`unknown scenario '${unknown.join(', ')}': use ${SCENARIOS.join(', ')}`);
  return names as ScenarioName[];
}

/** Minutes and seconds since `started`, as `m:ss`. */
function elapsed(started: number): string {
  const s = Math.floor((performance.now() - started) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function printReport(report: BenchReport): void {
  const m = report.machine;
  console.log('');
  console.log(figureTable(report.figures));
  for (const s of report.skipped) console.log(`skipped: ${s.what}: ${s.reason}`);
  for (const f of report.failures) console.log(`FAILED: ${f.what}: ${f.reason}`);
  console.log(
    `${report.dataset.resources.toLocaleString('en-US')} resources; ${m.cpus} cores (${m.cpuModel}), Node ${m.node}; ` +
      `load average ${m.loadAverage.start.toFixed(2)} at start, mean ${m.loadAverage.mean.toFixed(2)}, max ${m.loadAverage.max.toFixed(2)}`,
  );
  console.log(`total ${(report.totalSeconds / 60).toFixed(1)} min (${report.totalSeconds.toFixed(0)} s)`);
}

/** `fhirhose bench`: generate data and measure loading, exports, downloads, latency and memory. */
export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      'measure loading, exports, downloads, latency and memory on generated data (docs/benchmarks.md)',
    )
    .option('--resources <n>', 'resources to generate and load, e.g. 100k, 1M, 10M', parseCount, 1_000_000)
    .option('--runs <n>', 'runs per figure: each figure is their median, with min and max', parseRuns, 3)
    .option('--json <file>', 'also write every figure and run as JSON')
    .option('--dir <dir>', 'working folder, kept to reuse data and stores (default: a temp folder, removed)')
    .option('--only <names>', `run only these scenarios, comma-separated: ${SCENARIOS.join(', ')}`, parseOnly)
    .option('--profile <dir>', "write V8 CPU profiles of the export scenarios' servers into this folder")
    .option(
      '--pg <url>',
      'PostgreSQL server for the postgres scenario; the bench works in a schema of its own (env FHIRHOSE_BENCH_PG_URL)',
    )
    .action(async (flags: BenchFlags) => {
      const started = performance.now();
      const profileDir = flags.profile ? resolve(flags.profile) : undefined;
      if (profileDir) mkdirSync(profileDir, { recursive: true });
      const pgUrl = flags.pg || process.env.FHIRHOSE_BENCH_PG_URL;
      const report = await runBench({
        resources: flags.resources,
        runs: flags.runs,
        ...(flags.dir ? { dir: resolve(flags.dir) } : {}),
        ...(flags.only ? { only: flags.only } : {}),
        ...(profileDir ? { profileDir } : {}),
        ...(pgUrl ? { pgUrl: withPgUser(process.env, pgUrl) } : {}),
        env: process.env,
        log: (line) => console.log(`${elapsed(started)}  ${line}`),
        command: ['fhirhose', ...process.argv.slice(2)].join(' '),
      });
      printReport(report);
      if (flags.json) {
        writeFileSync(flags.json, `${JSON.stringify(report, null, 2)}\n`);
        console.log(`wrote ${flags.json}`);
      }
      if (report.failures.length > 0) process.exitCode = 1;
    });
}
