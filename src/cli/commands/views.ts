import { createWriteStream, readFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { BulkClientError, ViewClient } from '../../client/index.js';
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
import type { CredentialFlags } from '../client-credentials.js';
import { intInRange } from '../int-setting.js';
import { serverUrl } from '../server-url.js';
import { clientOptions, interruptSignal } from './client-flags.js';

interface RunFlags extends CredentialFlags {
  db?: string;
  /** Run through this server's `$viewdefinition-run` instead of over a local store. */
  url?: string;
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
  if (opts.url !== undefined) {
    if (opts.db !== undefined) throw new ConfigError('--db and --url exclude each other');
    await runRemote(file, format, opts);
    return;
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

/**
 * `views run --url`: the view goes to the server's `$viewdefinition-run` and the rows stream to the
 * file (through `.part`). The view was checked here first, so a bad one costs no request.
 */
async function runRemote(file: string, format: TableFormat, opts: RunFlags): Promise<void> {
  if (opts.out === undefined || opts.out === '-') throw new ConfigError('--url needs --out FILE');
  if ((opts.patient?.length ?? 0) > 1) throw new ConfigError('--url takes one --patient');
  const view = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const flags = { ...opts, parallel: 1, maxWait: 300, pollInterval: 1, retries: 6, progressEvery: 5 };
  const client = new ViewClient(serverUrl(opts.url as string), clientOptions(flags, undefined));
  const { signal, dispose } = interruptSignal();
  const started = performance.now();
  try {
    const limit =
      opts.limit === undefined
        ? undefined
        : intInRange('--limit', opts.limit, 0, { min: 0, max: Number.MAX_SAFE_INTEGER });
    const patient = opts.patient?.[0];
    const bytes = await client.run(
      {
        view,
        format,
        header: opts.header,
        ...(limit !== undefined ? { limit } : {}),
        ...(patient !== undefined ? { patient } : {}),
      },
      opts.out,
      signal,
    );
    const seconds = (performance.now() - started) / 1000;
    console.error(
      `wrote ${bytes} bytes of ${format} from ${opts.url} to ${opts.out} in ${seconds.toFixed(1)} s`,
    );
  } catch (err) {
    if (!signal.aborted) throw err;
    console.error('fhirhose: interrupted; no output file was left');
    process.exitCode = 130;
  } finally {
    dispose();
    await client.close();
  }
}

/** `fhirhose views`: SQL on FHIR ViewDefinitions over a local store or through a server. */
export function registerViews(program: Command): void {
  const views = program
    .command('views')
    .description('SQL on FHIR v2 ViewDefinitions: flatten resources into tables');
  views
    .command('run')
    .description("run a ViewDefinition over the store's current data (one snapshot) and write its rows")
    .argument('<view>', 'ViewDefinition JSON file')
    .option('--db <path-or-url>', 'SQLite database file or postgres:// URL (env FHIRHOSE_DB)')
    .option('--url <fhir-base-url>', "run through this server's $viewdefinition-run instead (needs --out)")
    .option('--client-id <id>', 'with --url: SMART Backend Services client_id (env FHIRHOSE_CLIENT_ID)')
    .option('--key <file>', 'with --url: private JWK file, RS384 or ES384 (env FHIRHOSE_CLIENT_KEY)')
    .option('--token-url <url>', 'with --url: token endpoint (default: from .well-known/smart-configuration)')
    .option('--scope <scope>', 'with --url: scope to request (env FHIRHOSE_SCOPE)')
    .option('--config <file>', 'with --url: JSON file with clientId, key, tokenUrl, scope')
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
        if (err instanceof FhirhoseError || err instanceof BulkClientError) {
          console.error(`fhirhose: ${file}: ${err.message}`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}
