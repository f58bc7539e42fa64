import { readFileSync } from 'node:fs';
import { ViewClient } from '../../client/index.js';
import type { ExportedView, ViewExportRequest, ViewFormat } from '../../client/index.js';
import { ConfigError } from '../config-error.js';
import { serverUrl } from '../server-url.js';
import { clientOptions, interruptSignal, reportFailure, reporterFor } from './client-flags.js';
import type { ClientFlags } from './client-flags.js';

/** The flags of `fhirhose export --view`. */
export interface ViewExportFlags extends ClientFlags {
  view: string[];
  format?: string;
  out?: string;
  patient: string[];
  group?: string;
  since?: string;
}

const FORMATS: readonly ViewFormat[] = ['ndjson', 'csv', 'parquet', 'json'];
// A reference to a view stored on the server, rather than a file: `ViewDefinition/<id>` or a canonical.
const REFERENCE_RE = /^(ViewDefinition\/[A-Za-z0-9\-.]{1,64}|https?:\/\/.+)$/;

/** `--view` values: a ViewDefinition JSON file, or a reference to a view stored on the server. */
export function viewsOf(values: readonly string[]): ExportedView[] {
  return values.map((value) => {
    if (REFERENCE_RE.test(value)) return { reference: value };
    let view: unknown;
    try {
      view = JSON.parse(readFileSync(value, 'utf8')) as unknown;
    } catch (err) {
      throw new ConfigError(`--view ${value}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof view !== 'object' || view === null || Array.isArray(view)) {
      throw new ConfigError(`--view ${value}: not a ViewDefinition JSON object`);
    }
    return { view };
  });
}

function requestOf(flags: ViewExportFlags): ViewExportRequest {
  const format = (flags.format ?? 'ndjson') as ViewFormat;
  if (!FORMATS.includes(format)) {
    throw new ConfigError(`--format must be one of ${FORMATS.join(', ')}, got '${flags.format ?? ''}'`);
  }
  const request: ViewExportRequest = { views: viewsOf(flags.view), format };
  if (flags.patient.length > 0) request.patients = flags.patient;
  if (flags.group !== undefined) request.groups = [flags.group];
  if (flags.since !== undefined) request.since = flags.since;
  return request;
}

/**
 * `fhirhose export URL --view VIEW.json [--view ...] --format F --out DIR`: a SQL on FHIR
 * `$viewdefinition-export` on any server that offers it, each output's files downloaded to DIR.
 * Exit codes as docs/cli.md: 2 for a usage error, 1 for a failed export, 130 when interrupted
 * (the job is then cancelled on the server).
 */
export async function runViewExport(baseArg: string | undefined, flags: ViewExportFlags): Promise<void> {
  if (!flags.out) throw new ConfigError('give --out DIR');
  if (!baseArg) throw new ConfigError('give the FHIR base URL');
  const request = requestOf(flags);
  const reporter = reporterFor(flags);
  const client = new ViewClient(serverUrl(baseArg), clientOptions(flags, reporter.listener));
  const { signal, dispose } = interruptSignal();
  try {
    const result = await client.export(request, { outDir: flags.out, parallel: flags.parallel, signal });
    reporter.stop();
    const bytes = result.files.reduce((n, f) => n + f.bytes, 0);
    if (flags.json) {
      const files = result.files.map((f) => ({ name: f.name, path: f.path, bytes: f.bytes }));
      console.log(
        JSON.stringify({ time: new Date().toISOString(), event: 'view-export-done', files, bytes }),
      );
    } else {
      for (const f of result.files) console.error(`${f.path}  ${f.bytes} bytes`);
      console.error(`view export done: ${result.files.length} files, ${bytes} bytes in ${flags.out}`);
    }
  } catch (err) {
    reporter.stop();
    reportFailure(err, flags, signal.aborted ? 'the export was cancelled on the server' : undefined);
    if (signal.aborted) process.exitCode = 130;
  } finally {
    dispose();
    await client.close();
  }
}
