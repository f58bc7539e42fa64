import type { FileInfo, FileStorage, FileWriter } from './types.js';

/** A finished NDJSON file with the number of lines it holds. */
export interface NdjsonFile extends FileInfo {
  count: number;
}

/** Options for an NDJSON output series. */
export interface NdjsonSeriesOptions {
  storage: FileStorage;
  jobId: string;
  /** File name for part n (1-based). */
  nameFor: (n: number) => string;
  /** Start a new file once this many bytes were written. */
  maxBytes: number;
}

/**
 * Writes NDJSON lines into a series of files, starting a new file past `maxBytes` and never
 * creating an empty one. Files are committed (renamed to their final name) as they fill.
 */
export class NdjsonSeries {
  private current: FileWriter | undefined;
  private currentCount = 0;
  private part = 0;
  readonly files: NdjsonFile[] = [];

  constructor(private readonly options: NdjsonSeriesOptions) {}

  /** Append lines (each without its newline). */
  async writeLines(lines: string[]): Promise<void> {
    if (lines.length > 0) await this.writeChunk(lines.join('\n') + '\n', lines.length);
  }

  /** Append `lines` newline-terminated lines, given as text or as UTF-8 bytes; see FileWriter for `released`. */
  async writeChunk(chunk: string | Uint8Array, lines: number, released?: () => void): Promise<void> {
    if (lines === 0) return;
    const writer = await this.writer();
    await writer.write(chunk, released);
    this.currentCount += lines;
    if (writer.bytes >= this.options.maxBytes) await this.rotate();
  }

  /** The number of lines in the file being written. */
  get pendingCount(): number {
    return this.currentCount;
  }

  private async writer(): Promise<FileWriter> {
    if (!this.current) {
      this.part += 1;
      this.current = await this.options.storage.createWriter(
        this.options.jobId,
        this.options.nameFor(this.part),
      );
      this.currentCount = 0;
    }
    return this.current;
  }

  private async rotate(): Promise<void> {
    if (!this.current) return;
    const info = await this.current.commit();
    this.files.push({ ...info, count: this.currentCount });
    this.current = undefined;
    this.currentCount = 0;
  }

  /** Commit the last file. */
  async close(): Promise<NdjsonFile[]> {
    await this.rotate();
    return this.files;
  }

  /** Discard the file in progress (committed ones are left for the caller to remove). */
  async abort(): Promise<void> {
    await this.current?.abort();
    this.current = undefined;
  }
}
