import { isUtf8 } from 'node:buffer';
import { VerificationError } from './errors.js';
import { checkJsonLine } from './json-check.js';
import { checkLineShape } from './line-check.js';

/**
 * How closely lines are checked. `lines` (the default): each line valid UTF-8, a JSON object by its
 * shape (`{` … `}`) with the expected `resourceType`, and the count. `full`: each line's complete JSON
 * grammar as well (RFC 8259), at several times the CPU per byte.
 */
export type VerifyMode = 'lines' | 'full';

/** The verify modes, for option parsers. */
export const VERIFY_MODES: readonly VerifyMode[] = ['lines', 'full'];

/** What every line of a file must be. */
export interface LineExpectation {
  /** The resourceType every line must have; undefined accepts any (organized output). */
  resourceType?: string;
  /** The number of resource lines the manifest promised. */
  count?: number;
  /** A line longer than this is an error, so a file without newlines cannot exhaust memory. */
  maxLineBytes?: number;
  /** How closely each line is checked (default `lines`). */
  verify?: VerifyMode;
}

/** A file whose resource lines differ from its manifest `count` (IG §5). */
export interface CountMismatch {
  manifest: number;
  lines: number;
  message: string;
}

const NEWLINE = 0x0a;
const DEFAULT_MAX_LINE_BYTES = 128 * 1024 * 1024;

/**
 * Checks NDJSON as it streams past, holding only the current partial line: every line is valid UTF-8
 * and a JSON object (by its shape, or with `verify: 'full'` by its whole grammar) with the expected
 * resourceType, and the line count matches the manifest (IG §8.2).
 */
export class NdjsonVerifier {
  /** Resource lines seen. */
  lines = 0;
  /** Bytes seen. */
  bytes = 0;
  private readonly expect: LineExpectation;
  private readonly maxLineBytes: number;
  private readonly full: boolean;
  private carry: Buffer[] = [];
  private carryBytes = 0;

  constructor(expect: LineExpectation) {
    this.expect = expect;
    this.maxLineBytes = expect.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.full = expect.verify === 'full';
  }

  /**
   * Check the complete lines in `chunk` and keep its unfinished tail.
   * @throws VerificationError at the first bad line.
   */
  scan(chunk: Buffer): void {
    this.bytes += chunk.length;
    let start = 0;
    // Lines mode checks UTF-8 once for all the chunk's complete lines (a newline never splits a
    // character); only in a chunk that fails does each line get its own check, to name the bad one.
    let chunkChecked = this.full;
    let lineUtf8 = false;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      if (this.carryBytes > 0) {
        this.carry.push(chunk.subarray(start, nl));
        const line = Buffer.concat(this.carry);
        this.checkLine(line, 0, line.length, true);
        this.carry = [];
        this.carryBytes = 0;
      } else {
        if (!chunkChecked) {
          chunkChecked = true;
          lineUtf8 = !isUtf8(chunk.subarray(start, chunk.lastIndexOf(NEWLINE)));
        }
        this.checkLine(chunk, start, nl, lineUtf8);
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      // Copy the tail: a subarray would pin the whole chunk in memory.
      this.carry.push(Buffer.from(chunk.subarray(start)));
      this.carryBytes += chunk.length - start;
      if (this.carryBytes > this.maxLineBytes) {
        throw new VerificationError(`line ${this.lines + 1} is longer than ${this.maxLineBytes} bytes`, {
          line: this.lines + 1,
        });
      }
    }
  }

  /**
   * Check the last line (which may lack its newline) and the count.
   * @throws VerificationError when the last line is bad or the count differs.
   */
  finish(): void {
    this.finishLines();
    const mismatch = this.countMismatch();
    if (mismatch) throw new VerificationError(mismatch.message);
  }

  /**
   * Check the last line (which may lack its newline), leaving the count to the caller.
   * @throws VerificationError when the last line is bad.
   */
  finishLines(): void {
    if (this.carryBytes > 0) {
      const line = Buffer.concat(this.carry);
      this.checkLine(line, 0, line.length, true);
    }
    this.carry = [];
    this.carryBytes = 0;
  }

  /** How the lines seen differ from the manifest `count`; undefined when they agree or there is none. */
  countMismatch(): CountMismatch | undefined {
    const { count } = this.expect;
    if (count === undefined || count === this.lines) return undefined;
    return {
      manifest: count,
      lines: this.lines,
      message: `the manifest count is ${count} but the file holds ${this.lines} resources`,
    };
  }

  /** Check one line; `utf8` asks for its own UTF-8 check (lines mode checks whole chunks instead). */
  private checkLine(buf: Buffer, start: number, end: number, utf8: boolean): void {
    const n = this.lines + 1;
    let result = this.full ? checkJsonLine(buf, start, end) : checkLineShape(buf, start, end);
    if (result.ok && !this.full && utf8 && !isUtf8(buf.subarray(start, end))) {
      // The offset of the bad byte comes from the full check, which finds it (rare: errors only).
      result = checkJsonLine(buf, start, end);
    }
    if (!result.ok) {
      throw new VerificationError(`line ${n} is not valid JSON (at byte ${result.at})`, { line: n });
    }
    if (result.blank) return;
    const type = result.resourceType;
    if (!result.isObject || type === undefined) {
      throw new VerificationError(`line ${n} is not a FHIR resource (no resourceType)`, { line: n });
    }
    if (this.expect.resourceType !== undefined && type !== this.expect.resourceType) {
      throw new VerificationError(
        `line ${n} is a ${type}, but the manifest says ${this.expect.resourceType}`,
        {
          line: n,
        },
      );
    }
    this.lines = n;
  }
}
