import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { BulkDataClient, VERIFY_MODES, readState } from '../../client/index.js';
import type { ExportParameters, ExportSummary, KickoffRequest, VerifyMode } from '../../client/index.js';
import { ConfigError } from '../config-error.js';
import { serverUrl } from '../server-url.js';
import {
  addClientOptions,
  clientOptions,
  interruptSignal,
  reportFailure,
  reporterFor,
} from './client-flags.js';
import type { ClientFlags } from './client-flags.js';
import { runViewExport } from './view-export.js';

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

function kickoffRequest(flags: ExportFlags): KickoffRequest {
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
  const request: KickoffRequest = {
    level: flags.group ? 'group' : flags.patients ? 'patient' : 'system',
    params,
    method: flags.post || flags.patient.length > 0 ? 'POST' : 'GET',
  };
  if (flags.group) request.groupId = flags.group;
  if (flags.lenient) request.lenient = true;
  return request;
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
      : await client.export(kickoffRequest(flags), run);
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
