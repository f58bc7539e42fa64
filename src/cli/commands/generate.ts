import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import {
  estimateResources,
  patientsForResources,
  writeGenerated,
  MAX_PATIENTS,
} from '../../generate/index.js';

interface GenerateCliOptions {
  patients: number;
  resources?: number;
  seed: number;
  out: string;
  gzip: boolean;
}

const SUFFIX: Record<string, number> = { '': 1, k: 1_000, m: 1_000_000 };

/** Parse a non-negative integer, allowing `_` separators and a `k` or `M` suffix (`1M`, `18k`). */
function parseCount(value: string): number {
  const m = /^(\d[\d_]*(?:\.\d+)?)([kKmM]?)$/.exec(value.trim());
  const n = m ? Number(m[1]!.replaceAll('_', '')) * SUFFIX[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(n))
    throw new InvalidArgumentError('expected a non-negative integer such as 1000, 18k or 1M');
  return n;
}

function printSummary(counts: Record<string, number>, seconds: number, out: string): void {
  const width = Math.max(...Object.keys(counts).map((t) => t.length));
  let total = 0;
  for (const [type, count] of Object.entries(counts)) {
    total += count;
    console.log(`  ${type.padEnd(width)}  ${count.toLocaleString('en-US').padStart(12)}`);
  }
  const rate = Math.round(total / Math.max(seconds, 1e-3));
  console.log(
    `wrote ${total.toLocaleString('en-US')} resources to ${out} in ${seconds.toFixed(1)} s ` +
      `(${rate.toLocaleString('en-US')} resources/s)`,
  );
}

/** Register `fhirhose generate`: a deterministic synthetic FHIR R4 data set as NDJSON files. */
export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('write a deterministic synthetic FHIR R4 data set, one NDJSON file per resource type')
    .requiredOption('--out <dir>', 'output directory (created when missing)')
    .option('--patients <n>', 'number of patients', parseCount, 100)
    .option(
      '--resources <n>',
      'target total resource count, e.g. 1M (sets the number of patients)',
      parseCount,
    )
    .option('--seed <n>', 'random seed: the same patients and seed give byte-identical files', parseCount, 1)
    .option('--gzip', 'write gzip-compressed .ndjson.gz files', false)
    .action(async (opts: GenerateCliOptions, cmd: Command) => {
      const patients = opts.resources === undefined ? opts.patients : patientsForResources(opts.resources);
      if (patients > MAX_PATIENTS)
        cmd.error(`error: at most ${MAX_PATIENTS.toLocaleString('en-US')} patients`);
      console.log(
        `generating ${patients.toLocaleString('en-US')} patients (about ` +
          `${estimateResources(patients).toLocaleString('en-US')} resources), seed ${opts.seed}`,
      );
      const started = performance.now();
      const { counts } = await writeGenerated({
        patients,
        seed: opts.seed,
        outDir: opts.out,
        gzip: opts.gzip,
      });
      printSummary(counts, (performance.now() - started) / 1000, opts.out);
    });
}
