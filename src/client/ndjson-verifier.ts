import { VerificationError } from './errors.js';
import { checkJsonLine } from './json-check.js';

/** What every line of a file must be. */
export interface LineExpectation {
  /** The resourceType every line must have; undefined accepts any (organized output). */
  resourceType?: string;
  /** The number of resource lines the manifest promised. */
  count?: number;
  /** A line longer than this is an error, so a file without newlines cannot exhaust memory. */
  maxLineBytes?: number;
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
 * Checks NDJSON as it streams past, holding only the current partial line: every line parses as a JSON
 * object with the expected resourceType, and the line count matches the manifest (IG §8.2).
 */
export class NdjsonVerifier {
  /** Resource lines seen. */
  lines = 0;
  /** Bytes seen. */
  bytes = 0;
  private readonly expect: LineExpectation;
  private readonly maxLineBytes: number;
  private carry: Buffer[] = [];
  private carryBytes = 0;

  constructor(expect: LineExpectation) {
    this.expect = expect;
    this.maxLineBytes = expect.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /**
   * Check the complete lines in `chunk` and keep its unfinished tail.
   * @throws VerificationError at the first bad line.
   */
  scan(chunk: Buffer): void {
    this.bytes += chunk.length;
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      if (this.carryBytes > 0) {
        this.carry.push(chunk.subarray(start, nl));
        const line = Buffer.concat(this.carry);
        this.checkLine(line, 0, line.length);
        this.carry = [];
        this.carryBytes = 0;
      } else {
        this.checkLine(chunk, start, nl);
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
      this.checkLine(line, 0, line.length);
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

  private checkLine(buf: Buffer, start: number, end: number): void {
    const n = this.lines + 1;
    const result = checkJsonLine(buf, start, end);
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
