import type { RawScanBatch, ScanKey } from './types.js';

/** Spare batch buffers kept per pool: one being read by the consumer, one being filled, and slack. */
const MAX_SPARE = 2;

/**
 * Collects a batch of rows given as text into one buffer, each row a view of its UTF-8 bytes, so that
 * a byte scan allocates no buffer per row. A buffer of its own per row (what the driver returns for a
 * BLOB) is external memory that V8 frees only when it collects the row's handle; scans that make few
 * objects per row (projections on bytes) left tens of MiB of such buffers per export thread. The
 * batch's buffer goes back to `spare` when the consumer calls `release`, for the next batch.
 */
export class RowBatchFiller {
  private out: Buffer | undefined;
  /** Bytes of the buffer filled. */
  private used = 0;
  /** Bytes of every row added, those in buffers of their own too. */
  private total = 0;
  private rows: Buffer[] = [];

  /**
   * @param budget - a batch is full once its rows hold at least this many bytes
   * @param spare - buffers given back, shared by the scans of one connection so they outlive a scan
   */
  constructor(
    readonly budget: number,
    private readonly spare: Buffer[] = [],
  ) {}

  /** Bytes of the rows added so far. */
  get bytes(): number {
    return this.total;
  }

  /** Rows added so far. */
  get length(): number {
    return this.rows.length;
  }

  /** Room for a batch: the budget plus a typical row past it, so most batches fit in one buffer. */
  private get standard(): number {
    return this.budget + (this.budget >> 2);
  }

  /** Append one row as its UTF-8 bytes. */
  add(json: string): void {
    let out = this.out;
    if (out === undefined) {
      while (out === undefined && this.spare.length > 0) {
        const reused = this.spare.pop()!;
        if (reused.length === this.standard) out = reused;
      }
      this.out = out ??= Buffer.allocUnsafeSlow(this.standard);
    }
    const start = this.used;
    // At most 3 bytes per UTF-16 code unit: where that fits, the row is encoded once, uncounted.
    if (start + 3 * json.length <= out.length || start + Buffer.byteLength(json) <= out.length) {
      this.used += out.write(json, start, 'utf8');
      this.total += this.used - start;
      this.rows.push(out.subarray(start, this.used));
      return;
    }
    // Past the slack (a row larger than a quarter of the budget): this row alone gets a buffer.
    const row = Buffer.from(json, 'utf8');
    this.total += row.length;
    this.rows.push(row);
  }

  /** The rows added so far as a batch ending at `cursor` (undefined when none), and a fresh start. */
  take(cursor: ScanKey): RawScanBatch | undefined {
    const full = this.out;
    const rows = this.rows;
    this.out = undefined;
    this.used = 0;
    this.total = 0;
    this.rows = [];
    if (rows.length === 0) {
      if (full !== undefined) this.keep(full);
      return undefined;
    }
    const batch: RawScanBatch = { rows, cursor };
    if (full !== undefined) {
      // Once only: a second call would hand back a buffer a later batch may be using.
      let kept = false;
      batch.release = () => {
        if (!kept) this.keep(full);
        kept = true;
      };
    }
    return batch;
  }

  private keep(buffer: Buffer): void {
    if (buffer.length === this.standard && this.spare.length < MAX_SPARE) this.spare.push(buffer);
  }
}
