import type { ScanKey } from '../store/index.js';

/** What one unit of an export job does. Stored as JSON in the job store. */
export type UnitSpec =
  /** Plan the job's other units (run by a worker, so kick-off never scans). */
  | { kind: 'plan' }
  /** Resources of one type, optionally one key range of it. */
  | { kind: 'resources'; type: string; after?: ScanKey; upTo?: ScanKey }
  /**
   * The compartments of a share of a Group's or patient list's members, read through the compartment
   * index (members-unit.ts); `types` are the patient-compartment types the export covers. With
   * `provenance` the unit also writes the `relevant` Provenance whose targets (of `types`) are its
   * members' resources, found through the target index, and no `provenance` unit is planned.
   */
  | { kind: 'members'; patients: string[]; types: string[]; provenance?: true }
  /**
   * The compartments of every member of the job's Group or patient list, in the row id range
   * `after < rid <= upTo` (no `upTo`: to the end), read in row id order (stores with
   * `readMemberRids`). With `provenance` the unit records the `relevant` Provenance it finds as the
   * job's references, which a `foundProvenance` unit writes once every range is read.
   */
  | { kind: 'memberRange'; after: number; upTo?: number; types: string[]; provenance?: true }
  /** The `relevant` Provenance the `memberRange` units found, at the job's time and within its bounds. */
  | { kind: 'foundProvenance' }
  /** Supporting resources of one type referenced by the job's patient-compartment output. */
  | { kind: 'supporting'; type: string }
  /** Patient blocks for organizeOutputBy=Patient. */
  | { kind: 'blocks'; patients: string[]; types: string[] }
  /**
   * Provenance of the exported resources (includeAssociatedData, or the IG's patient-level default);
   * `relevant` may be cut into key ranges of the Provenance rows, `latest` compares them all in one unit.
   */
  | {
      kind: 'provenance';
      mode: 'relevant' | 'latest';
      targetTypes: string[];
      after?: ScanKey;
      upTo?: ScanKey;
    }
  /** Deletions of one type since `_since`. */
  | { kind: 'deleted'; type: string }
  /** The warnings of lenient handling, as an error file. */
  | { kind: 'warnings' }
  /**
   * The rows of view `view` (its index in the request) over one key range of its type, or over the
   * compartments of a share of the job's patients (`patients`, read member by member). The `first`
   * unit of a view writes a file even when it finds no row, so every view lists at least one file
   * (an empty table keeps its header or schema).
   */
  | {
      kind: 'view';
      view: number;
      type: string;
      after?: ScanKey;
      upTo?: ScanKey;
      patients?: string[];
      first?: true;
    };

/** Kinds of manifest entry a file belongs to. */
export type FileKind = 'output' | 'deleted' | 'error';

/** One file a unit produced. */
export interface UnitFile {
  kind: FileKind;
  /** Resource type of every line; empty for organized output, which mixes types. */
  type: string;
  name: string;
  count: number;
  bytes: number;
  /** Organized output: the file that continues this file's last block. */
  continuesIn?: string;
}

/** What a finished unit recorded. */
export interface UnitResult {
  files: UnitFile[];
}

/**
 * Where a unit that gave its worker back part-way resumes: the segment its next files are named in,
 * the scan position after the last batch it wrote (a key for a type scan, the last patient for a
 * members unit, the last row id for a member range), and the files it committed before.
 */
export interface UnitCheckpoint {
  segment: number;
  after?: ScanKey;
  afterPatient?: string;
  afterRid?: number;
  files: UnitFile[];
}
