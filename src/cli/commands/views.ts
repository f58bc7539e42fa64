import { createWriteStream, readFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { FhirhoseError } from '../../fhir/index.js';
import { openStore } from '../../store/index.js';
import {
  createEncoder,
  encodeValueBatches,
  parseTableFormat,
  viewValuesFromStore,
} from '../../tables/index.js';
import type { TableFormat } from '../../tables/index.js';
import { createViewRunner, InvalidViewDefinitionError } from '../../views/index.js';
import type { RowValues, ViewRunner } from '../../views/index.js';
import { ConfigError } from '../config-error.js';
import { loadDb } from '../config.js';
import { intInRange } from '../int-setting.js';

interface RunFlags {
  db?: string;
  format: string;
  out?: string;
  limit?: string;
  patient?: string[];
  header: boolean;
}

/** The view in `file`, validated and compiled; a problem is the caller's to fix (exit 2). */
function loadView(file: string): ViewRunner {
  let view: unknown;
  try {
    view = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new ConfigError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return createViewRunner(view);
  } catch (err) {
    if (!(err instanceof InvalidViewDefinitionError)) throw err;
    const at =
      err.expression !== undefined && !err.message.includes(err.expression) ? ` (at ${err.expression})` : '';
    throw new ConfigError(`${file}: invalid ViewDefinition: ${err.message}${at}`);
  }
}

function formatOf(value: string): TableFormat {
  try {
    return parseTableFormat(value, '--format');
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
}

async function* counted(
  batches: AsyncIterable<RowValues[]>,
  count: { rows: number },
): AsyncGenerator<RowValues[]> {
  for await (const batch of batches) {
    count.rows += batch.length;
    yield batch;
  }
}

/** Writes to `out` through a `.part` file, so a failed run leaves no file that looks finished. */
async function writeOut(bytes: AsyncIterable<Buffer>, out: string | undefined): Promise<void> {
  if (out === undefined || out === '-') {
    await pipeline(Readable.from(bytes), process.stdout, { end: false });
    return;
  }
  const part = `${out}.part`;
  try {
    await pipeline(Readable.from(bytes), createWriteStream(part));
    await rename(part, out);
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
}

async function runView(file: string, opts: RunFlags): Promise<void> {
  const runner = loadView(file);
  const format = formatOf(opts.format);
  const limit =
    opts.limit === undefined
      ? undefined
      : intInRange('--limit', opts.limit, 0, { min: 0, max: Number.MAX_SAFE_INTEGER });
  let encoder;
  try {
    encoder = createEncoder(format, runner.columns, { header: opts.header });
  } catch (err) {
    if (err instanceof FhirhoseError) throw new ConfigError(`${file}: ${err.message}`);
    throw err;
  }
  const store = await openStore(loadDb(process.env, opts.db));
  const count = { rows: 0 };
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  try {
    const asOf = await store.tick();
    const batches = viewValuesFromStore(store, runner, { asOf, limit, patients: opts.patient });
    await writeOut(encodeValueBatches(encoder, counted(batches, count)), opts.out);
  } finally {
    await store.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  // The CPU time is for `fhirhose bench`, which reads it from this line (wall time is noisy there).
  console.error(
    `wrote ${count.rows} rows of ${runner.resource} as ${format} to ${opts.out ?? 'stdout'} in ${seconds.toFixed(1)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s)`,
  );
}

/** `fhirhose views`: SQL on FHIR ViewDefinitions over a local store. */
export function registerViews(program: Command): void {
  const views = program
    .command('views')
    .description('SQL on FHIR v2 ViewDefinitions: flatten resources into tables');
  views
    .command('run')
    .description("run a ViewDefinition over the store's current data (one snapshot) and write its rows")
    .argument('<view>', 'ViewDefinition JSON file')
    .option('--db <path-or-url>', 'SQLite database file or postgres:// URL (env FHIRHOSE_DB)')
    .option('--format <format>', 'csv, ndjson, json or parquet', 'ndjson')
    .option('--out <file>', 'output file (default: stdout)')
    .option('--limit <n>', 'stop after this many rows')
    .option('--patient <id...>', "only these patients' compartments")
    .option('--no-header', 'CSV: no header row')
    .action(async (file: string, opts: RunFlags) => {
      try {
        await runView(file, opts);
      } catch (err) {
        // A row the view cannot produce (several values in a single column) fails the run: exit 1.
        if (err instanceof FhirhoseError) {
          console.error(`fhirhose: ${file}: ${err.message}`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}
