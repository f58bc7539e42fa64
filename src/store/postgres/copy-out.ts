// `COPY (query) TO STDOUT (FORMAT binary)` of one text column, turned into NDJSON chunks straight from
// the socket: each row's bytes are copied once, into the chunk, with no object per row or per protocol
// message. Protocol: https://www.postgresql.org/docs/15/protocol-flow.html#PROTOCOL-COPY and
// https://www.postgresql.org/docs/15/sql-copy.html#id-1.9.3.55.9.4 (binary format).
import { Readable } from 'node:stream';
import type { NdjsonChunk } from '../types.js';

/** The part of pg's Connection a submittable query uses. */
interface PgConnection {
  stream: Readable;
  query(text: string): void;
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags and header-extension length. */
const HEADER_BYTES = SIGNATURE.length + 8;
const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR_RESPONSE = 0x45; // 'E'
const NEWLINE = 10;
const MAX_SPARE = 8;

/** What the copy-data parser expects next. */
const enum Expect {
  Header,
  HeaderExtension,
  TupleCount,
  FieldLength,
  FieldData,
  Nothing,
}

/**
 * A pg submittable (`client.query(new CopyOutNdjson(sql))`) and an object-mode Readable of
 * `NdjsonChunk`s of about `chunkBytes`. The query must give exactly one non-null text column. While
 * it runs it reads the connection's socket itself, as pg-copy-streams does, and hands the socket back
 * to pg at CopyDone or at an ErrorResponse, so pg sees the command's completion or its error. When the
 * consumer stops reading, the socket is left unread and PostgreSQL waits.
 */
export class CopyOutNdjson extends Readable {
  private connection: PgConnection | undefined;
  private pgDataListener: ((chunk: Buffer) => void) | undefined;
  private wanted = false;
  private handedBack = false;
  // Protocol message framing.
  private readonly head = Buffer.alloc(5);
  private headHave = 0;
  private messageType = -1;
  private messageLeft = 0;
  // Binary COPY data framing.
  private expect = Expect.Header;
  private readonly small = Buffer.alloc(HEADER_BYTES);
  private smallHave = 0;
  private smallNeed = HEADER_BYTES;
  private skipLeft = 0;
  private dataLeft = 0;
  // The chunk being filled, and chunk buffers the consumer gave back (see NdjsonChunk.release).
  private readonly spare: Buffer[] = [];
  private out: Buffer;
  private outUsed = 0;
  private outRows = 0;

  constructor(
    private readonly sql: string,
    private readonly chunkBytes = 512 * 1024,
  ) {
    // Up to 4 chunks wait for the consumer, so the server keeps sending while it writes a file.
    super({ objectMode: true, highWaterMark: 4 });
    this.out = Buffer.allocUnsafe(chunkBytes);
  }

  /** Called by pg when this query's turn comes. */
  submit(connection: PgConnection): void {
    this.connection = connection;
    const stream = connection.stream;
    const listeners = stream.listeners('data');
    if (listeners.length !== 1) throw new TypeError('expected one data listener on the pg socket');
    this.pgDataListener = listeners[0] as (chunk: Buffer) => void;
    stream.removeListener('data', this.pgDataListener);
    // Chunk by chunk through 'data': read() of several buffered chunks would concatenate them.
    stream.on('data', this.onData);
    if (!this.wanted) stream.pause();
    connection.query(this.sql);
  }

  handleError(err: Error): void {
    this.destroy(err);
  }

  // pg calls these once it has the socket back; the chunks have already ended the stream.
  handleCommandComplete(): void {}

  handleReadyForQuery(): void {}

  override _read(): void {
    this.wanted = true;
    if (!this.handedBack) this.connection?.stream.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.handedBack) return;
    try {
      this.parse(chunk);
    } catch (err) {
      // The connection is mid-copy: its owner must discard it (db.ts releases it broken).
      this.destroy(err as Error);
      return;
    }
    if (!this.wanted && !this.handedBack) this.connection?.stream.pause();
  };

  /** Walk the protocol messages of one socket chunk. */
  private parse(buf: Buffer): void {
    let p = 0;
    while (p < buf.length) {
      if (this.messageType === -1) {
        const n = Math.min(5 - this.headHave, buf.length - p);
        buf.copy(this.head, this.headHave, p, p + n);
        this.headHave += n;
        p += n;
        if (this.headHave < 5) return;
        this.headHave = 0;
        const type = this.head[0]!;
        if (type === ERROR_RESPONSE || type === COPY_DONE) {
          // pg takes over from this message on: it reports the error, or the command's completion.
          this.handBack(Buffer.concat([this.head, buf.subarray(p)]), type === COPY_DONE);
          return;
        }
        const length = this.head.readInt32BE(1) - 4;
        if (length > 0) {
          this.messageType = type;
          this.messageLeft = length;
        }
        continue;
      }
      const n = Math.min(this.messageLeft, buf.length - p);
      if (this.messageType === COPY_DATA) this.copyData(buf, p, p + n);
      p += n;
      this.messageLeft -= n;
      if (this.messageLeft === 0) this.messageType = -1;
    }
  }

  /** Walk binary COPY data in `buf[s, e)`. */
  private copyData(buf: Buffer, s: number, e: number): void {
    while (s < e) {
      if (this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, e - s);
        buf.copy(this.out, this.outUsed, s, s + n);
        this.outUsed += n;
        this.dataLeft -= n;
        s += n;
        if (this.dataLeft === 0) this.endRow();
        continue;
      }
      if (this.skipLeft > 0) {
        const n = Math.min(this.skipLeft, e - s);
        this.skipLeft -= n;
        s += n;
        continue;
      }
      if (this.expect === Expect.Nothing) throw new TypeError('binary COPY data after its trailer');
      // A fixed-size field: read it in place when whole, else gather it across messages.
      let field: Buffer;
      let at: number;
      if (this.smallHave === 0 && e - s >= this.smallNeed) {
        field = buf;
        at = s;
        s += this.smallNeed;
      } else {
        const n = Math.min(this.smallNeed - this.smallHave, e - s);
        buf.copy(this.small, this.smallHave, s, s + n);
        this.smallHave += n;
        s += n;
        if (this.smallHave < this.smallNeed) return;
        this.smallHave = 0;
        field = this.small;
        at = 0;
      }
      this.field(field, at);
    }
  }

  private field(buf: Buffer, at: number): void {
    switch (this.expect) {
      case Expect.Header: {
        if (!buf.subarray(at, at + SIGNATURE.length).equals(SIGNATURE)) {
          throw new TypeError('unexpected binary COPY signature');
        }
        this.skipLeft = buf.readInt32BE(at + SIGNATURE.length + 4);
        this.next(Expect.TupleCount, 2);
        return;
      }
      case Expect.TupleCount: {
        const count = buf.readInt16BE(at);
        if (count === -1) {
          this.expect = Expect.Nothing;
          return;
        }
        if (count !== 1) throw new TypeError(`COPY row has ${count} fields, expected 1`);
        this.next(Expect.FieldLength, 4);
        return;
      }
      case Expect.FieldLength: {
        const length = buf.readInt32BE(at);
        if (length < 0) throw new TypeError('COPY row holds a null');
        this.startRow(length);
        this.next(Expect.TupleCount, 2);
        return;
      }
      default:
        throw new TypeError('binary COPY parser out of step');
    }
  }

  private next(expect: Expect, bytes: number): void {
    this.expect = expect;
    this.smallNeed = bytes;
  }

  /** Make room for a row of `length` bytes and its newline. */
  private startRow(length: number): void {
    if (this.outUsed + length + 1 > this.out.length) {
      if (this.outUsed > 0) this.flush();
      if (length + 1 > this.out.length) this.out = Buffer.allocUnsafe(length + 1);
    }
    this.dataLeft = length;
    if (length === 0) this.endRow();
  }

  private endRow(): void {
    this.out[this.outUsed++] = NEWLINE;
    this.outRows += 1;
  }

  private flush(): void {
    const full = this.out;
    const chunk: NdjsonChunk = {
      rows: this.outRows,
      bytes: full.subarray(0, this.outUsed),
      release: () => {
        if (full.length === this.chunkBytes && this.spare.length < MAX_SPARE) this.spare.push(full);
      },
    };
    // Reused buffers keep an export's memory out of the garbage collector: fresh ones that outlive a
    // file write are promoted and, at half a megabyte each, drive a full collection every few dozen.
    this.out = this.spare.pop() ?? Buffer.allocUnsafe(this.chunkBytes);
    this.outUsed = 0;
    this.outRows = 0;
    if (!this.push(chunk)) this.wanted = false;
  }

  /** Give the socket back to pg, with the bytes it has yet to parse. */
  private handBack(rest: Buffer, done: boolean): void {
    const connection = this.connection!;
    const listener = this.pgDataListener!;
    this.handedBack = true;
    connection.stream.removeListener('data', this.onData);
    connection.stream.on('data', listener);
    if (done) {
      if (this.expect !== Expect.Nothing) {
        this.destroy(new TypeError('binary COPY data ended without its trailer'));
      } else {
        if (this.outUsed > 0) this.flush();
        this.push(null);
      }
    }
    listener(rest);
    connection.stream.resume();
  }
}
