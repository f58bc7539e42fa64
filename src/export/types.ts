import type { ViewExportOptions } from './view-request.js';

/** The three kick-off levels of the Bulk Data IG. */
export type ExportLevel = 'system' | 'patient' | 'group';

/** A parameter ignored under `Prefer: handling=lenient`, reported in the manifest's error file. */
export interface ExportWarning {
  parameter: string;
  message: string;
  /** The FHIR IssueType of its OperationOutcome; `not-supported` when absent. */
  issueCode?: 'not-supported' | 'not-found';
}

/** A validated kick-off request: everything the planner and the unit runner need, as plain JSON. */
export interface ExportRequest {
  level: ExportLevel;
  /** Group id for group-level exports. */
  groupId?: string;
  /** The kick-off URL (for POST, without parameters), echoed as the manifest's `request`. */
  requestUrl: string;
  /** Always NDJSON; the three aliases are normalized. */
  outputFormat: 'application/fhir+ndjson';
  /** Epoch ms: only resources with lastUpdated > since. */
  since?: number;
  /** Epoch ms: only resources with lastUpdated < until. */
  until?: number;
  /** Requested types, or undefined for every type the client may see. */
  types?: string[];
  /** `_typeFilter` queries, each `Type?params`, already validated; under lenient, only those applied. */
  typeFilters: string[];
  /**
   * Types left out because every `_typeFilter` query on them was dropped under lenient handling:
   * exporting them unfiltered would return more than was asked for.
   */
  excludedTypes?: string[];
  /** `_elements` values, already validated. */
  elements: string[];
  /** POST `patient` ids. */
  patients?: string[];
  /** `includeAssociatedData` codes. */
  includeAssociatedData: string[];
  /** `organizeOutputBy` resource type. */
  organizeOutputBy?: string;
  allowPartialManifests: boolean;
  /** `Prefer: handling=lenient` was sent. */
  lenient: boolean;
  /** `Prefer: respond-async, separate-export-status` was sent. */
  separateExportStatus: boolean;
  /** Parameters ignored under lenient handling. */
  warnings: ExportWarning[];
  /** Set for a `$viewdefinition-export` job: its units write view rows instead of resources. */
  view?: ViewExportOptions;
}

/** Raw kick-off input, as the HTTP layer hands it over. */
export interface KickoffInput {
  level: ExportLevel;
  groupId?: string;
  method: 'GET' | 'POST';
  /** Query parameters; repeated parameters as arrays. */
  query: Record<string, string | string[] | undefined>;
  /** Parsed POST body (a FHIR Parameters resource), if any. */
  body?: unknown;
  /** All `Prefer` header values. */
  prefer: string[];
  /** The absolute kick-off URL, for the manifest's `request`. */
  requestUrl: string;
}
