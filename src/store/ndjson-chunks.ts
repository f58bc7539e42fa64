import type { NdjsonChunk } from './types.js';

/** Spare buffers kept per pool: as many as a file writer has in flight (3), and the one being filled. */
const MAX_SPARE = 4;

/**
 * Fills NDJSON chunks of about `budget` bytes by copying each row into a buffer that the consumer
 * hands back (`NdjsonChunk.release`) once written, so a scan reuses a few buffers instead of making a
 * fresh one per chunk. Fresh buffers are external memory that V8 frees only when it collects their
 * handles; under a fast export they pile up faster than that and the thread's RSS grows with speed.
 */
export class NdjsonChunkFiller {
  private out: Buffer | undefined;
  private used = 0;
  private count = 0;

  /**
   * @param budget - a chunk is yielded once it holds at least this many bytes
   * @param spare - buffers given back, shared by the scans of one connection so they outlive a scan
   */
  constructor(
    readonly budget: number,
    private readonly spare: Buffer[] = [],
  ) {}

  /** Bytes in the chunk being filled. */
  get bytes(): number {
    return this.used;
  }

  /** Rows in the chunk being filled. */
  get rows(): number {
    return this.count;
  }

  /** Append one row and its newline. */
  add(row: Uint8Array): void {
    const need = this.used + row.length + 1;
    let out = this.out;
    if (out === undefined || need > out.length) out = this.grow(need);
    out.set(row, this.used);
    out[need - 1] = 10;
    this.used = need;
    this.count += 1;
  }

  /** Append one line given as text, encoded as UTF-8 straight into the chunk, and its newline. */
  addText(line: string): void {
    const out = this.out;
    // A UTF-16 code unit takes at most 3 bytes in UTF-8: where the worst case fits, the line is
    // encoded once, without first counting its bytes.
    if (out !== undefined && this.used + 3 * line.length < out.length) {
      this.used += out.write(line, this.used, 'utf8');
      return this.endLine();
    }
    const at = this.reserve(Buffer.byteLength(line, 'utf8'));
    this.out!.write(line, at, 'utf8');
    this.endLine();
  }

  /**
   * Room for `length` more bytes of the current line (and its newline), written by the caller into
   * `buffer` from the offset returned; `endLine` ends the line.
   */
  reserve(length: number): number {
    const at = this.used;
    const need = at + length + 1;
    if (this.out === undefined || need > this.out.length) this.grow(need);
    this.used = at + length;
    return at;
  }

  /** The buffer `reserve` made room in; valid until the next `reserve`, `add` or `take`. */
  get buffer(): Buffer {
    return this.out!;
  }

  /** Ends the line written through `reserve`. */
  endLine(): void {
    this.out![this.used] = 10;
    this.used += 1;
    this.count += 1;
  }

  /** The rows added so far as a chunk (undefined when none), and a fresh start for the next one. */
  take(): NdjsonChunk | undefined {
    const full = this.out;
    if (full === undefined || this.count === 0) return undefined;
    let released = false;
    const chunk: NdjsonChunk = {
      rows: this.count,
      bytes: full.subarray(0, this.used),
      release: () => {
        // Only standard-size buffers come back, and once: a second call would hand back a buffer a
        // later chunk may be using. One grown for a huge row is left to the collector.
        if (full.length === this.standard && this.spare.length < MAX_SPARE && !released)
          this.spare.push(full);
        released = true;
      },
    };
    this.out = undefined;
    this.used = 0;
    this.count = 0;
    return chunk;
  }

  /** Bytes a chunk holds without growing: the budget plus a typical row past it. */
  get capacity(): number {
    return this.standard;
  }

  /** Room for a chunk: the budget plus a typical row past it, so most chunks never grow. */
  private get standard(): number {
    return this.budget + (this.budget >> 2);
  }

  private grow(need: number): Buffer {
    const old = this.out;
    let next: Buffer | undefined;
    if (old === undefined && need <= this.standard) {
      // Another scan of the connection may have kept buffers of another size: those are dropped.
      while (next === undefined && this.spare.length > 0) {
        const reused = this.spare.pop()!;
        if (reused.length === this.standard) next = reused;
      }
      next ??= Buffer.allocUnsafeSlow(this.standard);
    } else {
      next = Buffer.allocUnsafeSlow(Math.max(need, this.standard, 2 * this.used));
      old?.copy(next, 0, 0, this.used);
      if (old?.length === this.standard && this.spare.length < MAX_SPARE) this.spare.push(old);
    }
    this.out = next;
    return next;
  }
}
