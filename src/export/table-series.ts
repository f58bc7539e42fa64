import type { FileStorage, FileWriter } from '../storage/index.js';
import type { RowEncoder } from '../tables/index.js';
import type { RowValues, ViewRow } from '../views/index.js';

/** A committed table file and the rows it holds. */
export interface TableFile {
  name: string;
  bytes: number;
  count: number;
}

/** Options of a table file series. */
export interface TableSeriesOptions {
  storage: FileStorage;
  jobId: string;
  /** File name for part n (1-based). */
  nameFor: (n: number) => string;
  /** Start a new file once this many bytes were written. */
  maxBytes: number;
  /** A fresh encoder per file: each CSV file has its header, each Parquet file its footer. */
  encoder: () => RowEncoder;
}

// Encoded rows are gathered into writes of about this size: one awaited write per row costs more
// than the encoding.
const WRITE_BYTES = 256 * 1024;
// Rows encoded per encoder call in writeValues: few enough that a file passes maxBytes by a few KB
// at most, many enough that CSV makes one Buffer per slice instead of one per row.
const SLICE_ROWS = 256;

/**
 * Writes view rows through an encoder into a series of files, starting a new file past `maxBytes`
 * and never creating an empty one. A file is committed (moved to its final name) only after its
 * encoder's last bytes, so a reader never sees a file without its footer.
 */
export class TableSeries {
  private writer: FileWriter | undefined;
  private encoder: RowEncoder | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private count = 0;
  private part = 0;
  private readonly files: TableFile[] = [];

  constructor(private readonly options: TableSeriesOptions) {}

  /** Append rows. */
  async write(rows: Iterable<ViewRow>): Promise<void> {
    for (const row of rows) {
      if (!this.encoder) await this.open();
      this.push(this.encoder!.row(row));
      this.count += 1;
      if (this.pendingBytes >= WRITE_BYTES) await this.flush();
      if (this.writer!.bytes + this.pendingBytes >= this.options.maxBytes) await this.rotate();
    }
  }

  /** Append rows given as values in column order (`ViewRunner.values`): the fast way, in slices. */
  async writeValues(rows: readonly RowValues[]): Promise<void> {
    for (let start = 0; start < rows.length; start += SLICE_ROWS) {
      if (!this.encoder) await this.open();
      const slice = rows.length <= SLICE_ROWS ? rows : rows.slice(start, start + SLICE_ROWS);
      this.push(this.encoder!.values(slice));
      this.count += slice.length;
      if (this.pendingBytes >= WRITE_BYTES) await this.flush();
      if (this.writer!.bytes + this.pendingBytes >= this.options.maxBytes) await this.rotate();
    }
  }

  private push(chunk: Buffer | undefined): void {
    if (chunk === undefined || chunk.length === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  private async open(): Promise<void> {
    this.part += 1;
    const { storage, jobId, nameFor } = this.options;
    this.writer = await storage.createWriter(jobId, nameFor(this.part));
    this.encoder = this.options.encoder();
    this.count = 0;
    this.push(this.encoder.start());
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    await this.writer!.write(chunk);
  }

  private async rotate(): Promise<void> {
    if (!this.encoder || !this.writer) return;
    this.push(this.encoder.end());
    await this.flush();
    const info = await this.writer.commit();
    this.files.push({ name: info.name, bytes: info.bytes, count: this.count });
    this.writer = undefined;
    this.encoder = undefined;
  }

  /** Start a file if none was written, so the series holds at least one (possibly without rows). */
  async ensureFile(): Promise<void> {
    if (this.files.length === 0 && !this.encoder) await this.open();
  }

  /** Commit the last file and list every file written. */
  async close(): Promise<TableFile[]> {
    await this.rotate();
    return this.files;
  }

  /** Discard the file in progress (committed ones are left for the caller to remove). */
  async abort(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    this.encoder = undefined;
    await this.writer?.abort();
    this.writer = undefined;
  }
}
