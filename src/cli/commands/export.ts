import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import {
  BulkDataClient,
  VERIFY_MODES,
  createReporter,
  privateJwkFrom,
  readState,
} from '../../client/index.js';
import type {
  BulkClientOptions,
  ExportParameters,
  ExportRequest,
  ExportSummary,
  Reporter,
  ReporterMode,
  VerifyMode,
} from '../../client/index.js';
import { clientCredentials, DEFAULT_CLIENT_SCOPE, readKeyFile } from '../client-credentials.js';
import { ConfigError } from '../config-error.js';
import { serverUrl } from '../server-url.js';
import { runViewExport } from './view-export.js';

/** Options shared by `export` and `sync`: auth, waits, parallelism, output style. */
export interface ClientFlags {
  clientId?: string;
  key?: string;
  tokenUrl?: string;
  scope?: string;
  /** `--config FILE`: credentials in a JSON file. */
  config?: string;
  parallel: number;
  maxWait: number;
  pollInterval: number;
  retries: number;
  /** Seconds between status lines when not on a terminal. */
  progressEvery: number;
  json?: boolean;
  /** False with `--no-early-poll`. */
  earlyPoll?: boolean;
}

interface ExportFlags extends ClientFlags {
  out?: string;
  resume?: string;
  cancel?: string;
  patients?: boolean;
  group?: string;
  type: string[];
  since?: string;
  until?: string;
  typeFilter: string[];
  elements: string[];
  patient: string[];
  includeAssociatedData: string[];
  organizeOutputBy?: string;
  outputFormat?: string;
  allowPartialManifests?: boolean;
  lenient?: boolean;
  post?: boolean;
  cleanup?: boolean;
  gzip: boolean;
  strict?: boolean;
  verify: VerifyMode;
  /** `--view`: a SQL on FHIR view export instead of a Bulk Data one (view-export.ts). */
  view: string[];
  format?: string;
}

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
};
const seconds = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number of seconds, got '${v}'`);
  return n;
};
const positiveSeconds = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${name} must be a number of seconds above 0, got '${v}'`);
  return n;
};
const verifyMode = (v: string): VerifyMode => {
  const mode = VERIFY_MODES.find((m) => m === v);
  if (!mode) throw new InvalidArgumentError(`expected one of ${VERIFY_MODES.join(', ')}`);
  return mode;
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];
const collectList = (v: string, prev: string[]): string[] => [
  ...prev,
  ...v.split(',').filter((x) => x !== ''),
];

/** Add the options of ClientFlags to a command. */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--client-id <id>', 'SMART Backend Services client_id (env FHIRHOSE_CLIENT_ID)')
    .option('--key <file>', 'private key as a JWK or JWK Set file, RS384 or ES384 (env FHIRHOSE_CLIENT_KEY)')
    .option(
      '--token-url <url>',
      'token endpoint (env FHIRHOSE_TOKEN_URL; default: from .well-known/smart-configuration)',
    )
    .option('--scope <scope>', `scope to request (env FHIRHOSE_SCOPE; default: ${DEFAULT_CLIENT_SCOPE})`)
    .option('--config <file>', 'JSON file with clientId, key (a path relative to the file), tokenUrl, scope')
    .option('--parallel <n>', 'downloads at once', positiveInt('--parallel'), 4)
    .option(
      '--max-wait <seconds>',
      "cap on one wait, even a server's Retry-After",
      seconds('--max-wait'),
      300,
    )
    .option(
      '--poll-interval <seconds>',
      'first poll backoff without Retry-After (doubles)',
      seconds('--poll-interval'),
      1,
    )
    .option('--retries <n>', 'retries of a failed request', positiveInt('--retries'), 6)
    .option('--no-early-poll', 'always wait the full Retry-After, even when the job is about to end')
    .option(
      '--progress-every <seconds>',
      'a status line this often when not on a terminal (and a JSON status event with --json)',
      positiveSeconds('--progress-every'),
      5,
    )
    .option('--json', 'JSON log lines on stdout');
}

/** Client settings from the flags; the key file is read here, once. */
export function clientOptions(
  flags: ClientFlags,
  listener: BulkClientOptions['onEvent'],
  env: Record<string, string | undefined> = process.env,
): BulkClientOptions {
  const credentials = clientCredentials(flags, env);
  const options: BulkClientOptions = {
    waits: {
      maxWaitMs: flags.maxWait * 1000,
      pollBaseMs: flags.pollInterval * 1000,
      retryBaseMs: flags.pollInterval * 1000,
      retries: flags.retries,
      ...(flags.earlyPoll === false ? { earlyPoll: false } : {}),
    },
    ...(listener ? { onEvent: listener } : {}),
  };
  if (credentials.clientId !== undefined && credentials.keyPath !== undefined) {
    options.smart = {
      clientId: credentials.clientId,
      privateJwk: privateJwkFrom(readKeyFile(credentials.keyPath)),
      ...(credentials.tokenUrl ? { tokenUrl: credentials.tokenUrl } : {}),
      scope: credentials.scope,
    };
  }
  return options;
}

/** The reporter for the flags: JSON lines, a live status on a terminal, plain lines otherwise. */
export function reporterFor(flags: { json?: boolean; progressEvery?: number }): Reporter {
  const mode: ReporterMode = flags.json ? 'json' : process.stderr.isTTY ? 'tty' : 'plain';
  return createReporter(mode, flags.json ? process.stdout : process.stderr, {
    intervalMs: (flags.progressEvery ?? 5) * 1000,
  });
}

function exportRequest(flags: ExportFlags): ExportRequest {
  if (flags.patients && flags.group) throw new Error('--patients and --group exclude each other');
  const params: ExportParameters = {};
  if (flags.type.length) params.type = flags.type;
  if (flags.since) params.since = flags.since;
  if (flags.until) params.until = flags.until;
  if (flags.typeFilter.length) params.typeFilter = flags.typeFilter;
  if (flags.elements.length) params.elements = flags.elements;
  if (flags.patient.length) params.patient = flags.patient;
  if (flags.includeAssociatedData.length) params.includeAssociatedData = flags.includeAssociatedData;
  if (flags.organizeOutputBy) params.organizeOutputBy = flags.organizeOutputBy;
  if (flags.outputFormat) params.outputFormat = flags.outputFormat;
  if (flags.allowPartialManifests) params.allowPartialManifests = true;
  const request: ExportRequest = {
    level: flags.group ? 'group' : flags.patients ? 'patient' : 'system',
    params,
    method: flags.post || flags.patient.length > 0 ? 'POST' : 'GET',
  };
  if (flags.group) request.groupId = flags.group;
  if (flags.lenient) request.lenient = true;
  return request;
}

/** Abort on Ctrl-C, leaving the state file for `--resume`. */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Print an error for a person (or a JSON line) and set the exit code: 2 for a usage error, else 1. */
export function reportFailure(err: unknown, flags: { json?: boolean }, hint?: string): void {
  const e = err as { code?: string; message?: string; status?: number };
  if (flags.json) {
    console.log(
      JSON.stringify({
        time: new Date().toISOString(),
        event: 'error',
        code: e.code,
        status: e.status,
        message: e.message,
      }),
    );
  } else {
    console.error(`error: ${e.message ?? String(err)}`);
    if (hint) console.error(hint);
  }
  process.exitCode = err instanceof ConfigError ? 2 : 1;
}

async function runExportCommand(baseArg: string | undefined, flags: ExportFlags): Promise<void> {
  const dir = flags.resume ?? flags.cancel ?? flags.out;
  if (!dir) throw new Error('give --out DIR (or --resume DIR / --cancel DIR)');
  const base = flags.resume || flags.cancel ? (await readState(dir)).baseUrl : baseArg;
  if (!base) throw new Error('give the FHIR base URL');
  const reporter = reporterFor(flags);
  const client = new BulkDataClient(serverUrl(base), clientOptions(flags, reporter.listener));
  const { signal, dispose } = interruptSignal();
  try {
    if (flags.cancel) {
      await client.cancel(dir, signal);
      return;
    }
    const run = {
      outDir: dir,
      parallel: flags.parallel,
      cleanup: flags.cleanup === true,
      gzip: flags.gzip,
      strict: flags.strict === true,
      verify: flags.verify,
      signal,
    };
    const summary: ExportSummary = flags.resume
      ? await client.resume(run)
      : await client.export(exportRequest(flags), run);
    reporter.summary(summary);
    if (!summary.ok) process.exitCode = 1;
  } catch (err) {
    reporter.stop();
    const hint = signal.aborted || flags.resume ? `resume with: fhirhose export --resume ${dir}` : undefined;
    reportFailure(err, flags, hint);
    if (signal.aborted) process.exitCode = 130;
  } finally {
    // After --cancel (no summary) the live display's redraw timer would keep the process alive.
    reporter.stop();
    dispose();
    await client.close();
  }
}

/** `fhirhose export`: a Bulk Data export from any server into a folder, verified and resumable. */
export function registerExport(program: Command): void {
  const cmd = program
    .command('export')
    .description('export from a FHIR Bulk Data server into a folder (verified; resumable after a crash)')
    .argument('[fhir-base-url]', 'the FHIR server base URL')
    .option('--out <dir>', 'output folder (output/, deleted/, error/ and a state file)')
    .option('--resume <dir>', 'continue the export in this folder: no new kick-off')
    .option('--cancel <dir>', 'cancel the export in this folder (DELETE on its status URL)')
    .option('--patients', 'Patient-level export (Patient/$export)')
    .option('--group <id>', 'Group-level export (Group/<id>/$export)')
    .option('--type <types>', '_type: resource types, comma-separated, repeatable', collectList, [])
    .option('--since <instant>', '_since')
    .option('--until <instant>', '_until')
    .option('--type-filter <query>', '_typeFilter: one search query, repeatable', collect, [])
    .option('--elements <elements>', '_elements, comma-separated, repeatable', collectList, [])
    .option('--patient <id>', 'patient: a Patient id or reference, repeatable (implies --post)', collect, [])
    .option('--include-associated-data <codes>', 'includeAssociatedData, comma-separated', collectList, [])
    .option('--organize-output-by <type>', 'organizeOutputBy')
    .option('--output-format <mime>', '_outputFormat')
    .option('--allow-partial-manifests', 'allowPartialManifests=true')
    .option('--lenient', 'Prefer: handling=lenient')
    .option('--post', 'kick off with POST and a Parameters body')
    .option('--cleanup', 'DELETE the job after a verified download')
    .option('--no-gzip', 'do not ask for gzip (faster on a fast local network)')
    .option(
      '--strict',
      "a file whose lines differ from the manifest's count fails the export (exit 1); by default it is a warning. The file is kept either way",
    )
    .option(
      '--verify <mode>',
      'how closely each line is checked: lines (valid UTF-8, a JSON object of the manifest type, the count) or full (also the whole JSON grammar, several times the CPU)',
      verifyMode,
      'lines',
    );
  addClientOptions(cmd);
  cmd
    .option(
      '--view <file-or-ref>',
      'SQL on FHIR $viewdefinition-export of this ViewDefinition file (or ViewDefinition/<id>), repeatable',
      collect,
      [],
    )
    .option('--format <format>', 'with --view: ndjson, csv, parquet or json (default ndjson)');
  cmd.action(async (base: string | undefined, flags: ExportFlags) => {
    try {
      if (flags.format !== undefined && flags.view.length === 0) {
        throw new ConfigError(
          '--format is for view exports: give --view too (Bulk Data uses --output-format)',
        );
      }
      if (flags.view.length > 0) await runViewExport(base, flags);
      else await runExportCommand(base, flags);
    } catch (err) {
      reportFailure(err, flags);
    }
  });
}
