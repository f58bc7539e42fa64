// PostgreSQL binary COPY format (https://www.postgresql.org/docs/15/sql-copy.html#id-1.9.3.55.9.4):
// length-prefixed fields, so JSON text needs no escaping in either direction.

/** How a column travels: `text` as UTF-8, `int4` and `int8` as big-endian integers. */
/** `bytes` reads a text column as its UTF-8 bytes (a view into the COPY chunk), without decoding. */
export type ColumnKind = 'text' | 'bytes' | 'int4' | 'int8';

/** One field value: a string (or its UTF-8 bytes) for `text`, a number for the integer kinds, or null. */
export type CopyValue = string | Uint8Array | number | null;

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8;
const CHUNK_BYTES = 1024 * 1024;
const TWO_32 = 4294967296;

/** Encodes rows into binary COPY data, in chunks of about 1 MiB. */
export class BinaryCopyEncoder {
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private at = 0;
  private full: Buffer[] = [];

  constructor(private readonly kinds: readonly ColumnKind[]) {
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, SIGNATURE.length);
    this.buf.writeInt32BE(0, SIGNATURE.length + 4);
    this.at = HEADER_BYTES;
  }

  /** Append one row; values follow the column kinds given to the constructor. */
  row(values: readonly CopyValue[]): void {
    this.room(2);
    this.buf.writeInt16BE(this.kinds.length, this.at);
    this.at += 2;
    for (let i = 0; i < this.kinds.length; i++) {
      const value = values[i] ?? null;
      if (value === null) {
        this.room(4);
        this.buf.writeInt32BE(-1, this.at);
        this.at += 4;
      } else if (this.kinds[i] === 'text') {
        if (typeof value === 'string') this.text(value);
        else this.bytes(value as Uint8Array);
      } else if (this.kinds[i] === 'int4') {
        this.room(8);
        this.buf.writeInt32BE(4, this.at);
        this.buf.writeInt32BE(value as number, this.at + 4);
        this.at += 8;
      } else {
        this.int8(value as number);
      }
    }
  }

  /** Chunks completed so far; they are handed over once. */
  take(): Buffer[] {
    const out = this.full;
    this.full = [];
    return out;
  }

  /** Finish the data with the trailer and return the remaining chunks. */
  end(): Buffer[] {
    this.room(2);
    this.buf.writeInt16BE(-1, this.at);
    this.at += 2;
    this.full.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.alloc(0);
    this.at = 0;
    return this.take();
  }

  private text(value: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit; the length is written after the bytes.
    this.room(4 + value.length * 3);
    const n = this.buf.write(value, this.at + 4, 'utf8');
    this.buf.writeInt32BE(n, this.at);
    this.at += 4 + n;
  }

  private bytes(value: Uint8Array): void {
    this.room(4 + value.length);
    this.buf.writeInt32BE(value.length, this.at);
    this.buf.set(value, this.at + 4);
    this.at += 4 + value.length;
  }

  private int8(value: number): void {
    this.room(12);
    const hi = Math.floor(value / TWO_32);
    this.buf.writeInt32BE(8, this.at);
    this.buf.writeInt32BE(hi, this.at + 4);
    this.buf.writeUInt32BE(value - hi * TWO_32, this.at + 8);
    this.at += 12;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    if (this.at > 0) this.full.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
    this.at = 0;
  }
}

/**
 * Decode binary COPY data into rows, one array of rows per input chunk that completes any. Chunks of
 * a row larger than one chunk are gathered and joined once, so a many-megabyte resource costs one copy.
 */
export async function* decodeBinaryCopy(
  source: AsyncIterable<Buffer>,
  kinds: readonly ColumnKind[],
): AsyncGenerator<CopyValue[][]> {
  let buf: Buffer = Buffer.alloc(0);
  let pos = 0;
  let waiting: Buffer[] = [];
  let waitingBytes = 0;
  let need = HEADER_BYTES;
  let headerDone = false;
  for await (const chunk of source) {
    waiting.push(chunk);
    waitingBytes += chunk.length;
    if (buf.length - pos + waitingBytes < need) continue;
    buf = pos === buf.length && waiting.length === 1 ? chunk : Buffer.concat([buf.subarray(pos), ...waiting]);
    pos = 0;
    waiting = [];
    waitingBytes = 0;
    if (!headerDone) {
      const valid = buf.subarray(0, SIGNATURE.length).equals(SIGNATURE);
      if (!valid || buf.readInt32BE(SIGNATURE.length + 4) !== 0)
        throw new TypeError('unexpected COPY header');
      pos = HEADER_BYTES;
      headerDone = true;
    }
    const rows: CopyValue[][] = [];
    for (;;) {
      const got = readRow(buf, pos, kinds);
      if (typeof got === 'number') {
        need = got;
        break;
      }
      if (got.row === null) {
        if (rows.length > 0) yield rows;
        return;
      }
      rows.push(got.row);
      pos = got.next;
    }
    if (rows.length > 0) yield rows;
  }
  throw new TypeError('binary COPY data ended without its trailer');
}

/** One row at `pos`, or the number of bytes from `pos` needed before it can be read. Null row: trailer. */
function readRow(
  buf: Buffer,
  pos: number,
  kinds: readonly ColumnKind[],
): { row: CopyValue[] | null; next: number } | number {
  const start = pos;
  if (buf.length - pos < 2) return 2;
  const count = buf.readInt16BE(pos);
  pos += 2;
  if (count === -1) return { row: null, next: pos };
  if (count !== kinds.length) throw new TypeError(`COPY row has ${count} fields, expected ${kinds.length}`);
  const row: CopyValue[] = new Array<CopyValue>(count);
  for (let i = 0; i < count; i++) {
    if (buf.length - pos < 4) return pos - start + 4;
    const len = buf.readInt32BE(pos);
    pos += 4;
    if (len === -1) {
      row[i] = null;
      continue;
    }
    if (buf.length - pos < len) return pos - start + len;
    const kind = kinds[i];
    if (kind === 'text') row[i] = buf.toString('utf8', pos, pos + len);
    else if (kind === 'bytes') row[i] = buf.subarray(pos, pos + len);
    else if (kind === 'int4') row[i] = buf.readInt32BE(pos);
    else row[i] = buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
    pos += len;
  }
  return { row, next: pos };
}
