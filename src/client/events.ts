/** What the client reports while it works: the CLI renders these as progress bars, lines or JSON. */

/** Which manifest section (`output`, `deleted`, `error`) a file came from. */
export type ManifestSection = 'output' | 'deleted' | 'error';

/** One file of the export, as the client tracks it. */
export interface FileRecord {
  kind: ManifestSection;
  url: string;
  /** The manifest `type`; absent for organized output (`organizeOutputBy`). */
  type?: string;
  /** The manifest `count`, when the server gave one. */
  count?: number;
  /** Path relative to the output folder. */
  path: string;
  /** The manifest page that listed it (absent in older state files: the status URL), re-fetched when its URLs expire. */
  page?: string;
}

/** The outcome of one file. */
export interface FileResult extends FileRecord {
  status: 'done' | 'failed';
  /** Lines holding a resource (blank lines are not counted). */
  lines: number;
  /** Bytes on disk (decoded). */
  bytes: number;
  /** True when the file was already complete before this run (resume). */
  skipped: boolean;
  /** `status` is the HTTP status of the failed answer, when there was one. */
  error?: { code: string; message: string; status?: number };
  /**
   * The file's resource lines differ from its manifest `count`. The file is kept either way: by default
   * it is `done` with this warning; with `strict` it is `failed`.
   */
  countMismatch?: { manifest: number; lines: number; message: string };
}

/** Events, in the order they happen. `url` is always the request URL. */
export type ClientEvent =
  /** A kick-off request is about to be sent to `url`. */
  | { kind: 'kickoff-request'; url: string }
  | { kind: 'kickoff'; statusUrl: string }
  | {
      kind: 'resume';
      statusUrl: string;
      files: number;
      manifestComplete: boolean;
      /** The files' resource counts, as `manifest` gives them for new files. */
      resources?: number;
      uncounted?: number;
    }
  | { kind: 'progress'; url: string; text: string }
  | {
      kind: 'wait';
      url: string;
      reason: 'retry-after' | 'backoff' | 'early';
      ms: number;
      requestedMs: number;
    }
  | {
      kind: 'retry';
      url: string;
      attempt: number;
      ms: number;
      requestedMs: number;
      status?: number;
      error?: string;
    }
  | { kind: 'token'; tokenUrl: string; expiresIn: number }
  | {
      kind: 'manifest';
      url: string;
      final: boolean;
      files: number;
      newFiles: number;
      /** The sum of the manifest `count` of the new output files, and how many of them have none. */
      newResources?: number;
      newUncounted?: number;
      /** This page is final and has no `link` next: every file of the export is now known. */
      complete?: boolean;
    }
  | {
      kind: 'file-start';
      file: FileRecord;
      resumeFrom: number;
      /** Resource lines in the `resumeFrom` bytes already on disk. */
      resumeLines?: number;
    }
  | {
      kind: 'file-bytes';
      file: FileRecord;
      /** Decoded bytes of this chunk. */
      bytes: number;
      /** The file's bytes on disk so far, a resumed part included (these two restart if the file does). */
      fileBytes?: number;
      /** The file's resource lines so far. */
      lines?: number;
    }
  | { kind: 'file-done'; file: FileResult }
  | { kind: 'file-failed'; file: FileResult }
  | {
      /** A manifest page was fetched again for fresh file URLs (IG F5). */
      kind: 'manifest-refresh';
      url: string;
      /** `expires`: the page's Expires passed; `refused`: a file URL answered `status`. */
      reason: 'expires' | 'refused';
      status?: number;
      /** This run's refreshes so far, this one included, and the most it makes. */
      refresh: number;
      max: number;
      /** Files of the page matched to an entry of the new manifest. */
      files: number;
    }
  | { kind: 'deleted-job'; statusUrl: string };

/** A listener for client events. It must not throw. */
export type EventListener = (event: ClientEvent) => void;
