import type { TableFormat } from '../tables/index.js';

// What a `$viewdefinition-export` job adds to its ExportRequest (stored as JSON with the job).

/** One view of a view export: its output name, the resource type it reads and its definition. */
export interface ViewExportView {
  /** Output name: the files are `<name>.part<k>.<ext>`. */
  name: string;
  /** The ViewDefinition's `resource`. */
  resource: string;
  /** The ViewDefinition itself, already validated. */
  definition: object;
}

/** The view part of a `$viewdefinition-export` job. */
export interface ViewExportOptions {
  views: ViewExportView[];
  format: TableFormat;
  /** CSV: a header row in each file. */
  header: boolean;
  /** Set when `patient` or `group` narrowed the export: the job's patient list is the filter. */
  byPatients: boolean;
  clientTrackingId?: string;
}

/** A view export kick-off, as the HTTP layer hands it to the service. */
export interface ViewExportInput {
  views: ViewExportView[];
  format: TableFormat;
  header: boolean;
  /** Patient ids of `patient` parameters. */
  patients: string[];
  /** Group ids of `group` parameters. */
  groups: string[];
  /** Epoch ms: only resources with lastUpdated > since. */
  since?: number;
  clientTrackingId?: string;
  /** The absolute kick-off URL. */
  requestUrl: string;
}

const EXTENSIONS: Record<TableFormat, string> = {
  csv: 'csv',
  ndjson: 'ndjson',
  json: 'json',
  parquet: 'parquet',
};

/** The file name extension of a table format. */
export function tableExtension(format: TableFormat): string {
  return EXTENSIONS[format];
}
