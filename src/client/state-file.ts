import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateFileError } from './errors.js';
import type { FileRecord, ManifestSection } from './events.js';
import type { KickoffRequest } from './kickoff.js';

/** The state file's name inside the output folder. */
export const STATE_FILE = 'fhirhose-export.json';

/**
 * What `--resume` needs after a crash: the status URL (so there is no second kick-off), the manifest
 * pages seen so far, and the files verified. A file's final name on disk also means it was verified,
 * since a download is renamed from `.part` only afterwards.
 */
export interface ExportState {
  version: 1;
  baseUrl: string;
  request: KickoffRequest;
  statusUrl: string;
  kickedOffAt: string;
  /** The manifest URL to poll next; absent once the last page was final. */
  pollUrl?: string;
  transactionTime?: string;
  requiresAccessToken: boolean;
  outputOrganizedBy?: string;
  files: FileRecord[];
  /**
   * When each manifest page's file URLs expire (its `Expires` header, on the client's clock), by page URL:
   * after that the page is fetched again before a download starts (IG F5).
   */
  manifestExpires?: Record<string, string>;
  /** Verified files by path. */
  verified: Record<
    string,
    { lines: number; bytes: number; countMismatch?: { manifest: number; lines: number; message: string } }
  >;
  /** True after the job was deleted on the server (`--cleanup` or `--cancel`). */
  jobDeleted?: boolean;
}

/** True when the folder holds a state file. */
export function hasState(dir: string): boolean {
  return existsSync(join(dir, STATE_FILE));
}

/**
 * Read the state file of an output folder.
 * @throws StateFileError when it is missing or not a state file.
 */
export async function readState(dir: string): Promise<ExportState> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), 'utf8');
  } catch (err) {
    throw new StateFileError(`no export to resume in ${dir}: ${STATE_FILE} is missing`, { cause: err });
  }
  let state: ExportState;
  try {
    state = JSON.parse(text) as ExportState;
  } catch (err) {
    throw new StateFileError(`${join(dir, STATE_FILE)} is not valid JSON`, { cause: err });
  }
  if (state.version !== 1 || typeof state.statusUrl !== 'string' || !Array.isArray(state.files)) {
    throw new StateFileError(`${join(dir, STATE_FILE)} is not a fhirhose export state file`);
  }
  state.verified ??= {};
  return state;
}

/** Write the state atomically (a temp file renamed over the old one). */
export async function writeState(dir: string, state: ExportState): Promise<void> {
  const path = join(dir, STATE_FILE);
  await writeFile(`${path}.tmp`, JSON.stringify(state, null, 1));
  await rename(`${path}.tmp`, path);
}

/** A local path for a new manifest file: `output/Patient.3.ndjson`, `deleted/Bundle.1.ndjson`... */
export function localPath(state: ExportState, kind: ManifestSection, type: string | undefined): string {
  const base = type !== undefined && /^[A-Za-z]+$/.test(type) ? type : 'file';
  const same = state.files.filter((f) => f.kind === kind && f.path.startsWith(`${kind}/${base}.`)).length;
  return `${kind}/${base}.${same + 1}.ndjson`;
}

/**
 * Serialises state writes and coalesces bursts: `touch` marks the state dirty, `flush` waits for disk.
 * Verified files are re-derived from disk after a crash, so a lost last write costs a re-check, not data.
 */
export class StateWriter {
  private pending: Promise<void> = Promise.resolve();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private failure: unknown;

  constructor(
    private readonly dir: string,
    private readonly state: ExportState,
    private readonly delayMs = 500,
  ) {}

  /** Write soon. A failure is kept and thrown by the next `flush`. */
  touch(): void {
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.write().catch((err: unknown) => {
        this.failure ??= err;
      });
    }, this.delayMs);
  }

  /** Write now, after any write in progress. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty = true;
    await this.write();
    if (this.failure !== undefined) throw this.failure;
  }

  private write(): Promise<void> {
    // An earlier failure was recorded (timer) or thrown (flush); it must not block later writes.
    this.pending = this.pending
      .catch(() => undefined)
      .then(async () => {
        if (!this.dirty) return;
        this.dirty = false;
        await writeState(this.dir, this.state);
      });
    return this.pending;
  }
}
