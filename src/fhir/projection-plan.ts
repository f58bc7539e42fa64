// The output of a byte projection (elements-raw.ts), planned as pieces of the stored bytes before it
// is written, so it is written once, straight into the caller's buffer, with no string or buffer per row.

/** Where a byte projection writes its line: room for a known length, in a buffer reused across rows. */
export interface ProjectionSink {
  /** Makes room for `length` bytes in `buffer` and answers the offset to write them at. */
  reserve(length: number): number;
  readonly buffer: Buffer;
}

const HEAD = Buffer.from('{"resourceType":');
const META_KEY = Buffer.from(',"meta":');
const COMMA = 0x2c;
const CLOSE_OBJECT = 0x7d;
/** Kinds of piece: a member copied, the stored meta with the SUBSETTED tag, a meta given as text. */
const COPY = 0;
const STORED_META = 1;
const META_TEXT = 2;
/** Below this many bytes a loop copies faster than Buffer.copy, which makes a view per call. */
const SHORT_COPY = 64;

/** Copies source[start, end) to out at `at`; answers the offset after it. */
function copyBytes(source: Buffer, start: number, end: number, out: Buffer, at: number): number {
  if (end - start >= SHORT_COPY) return at + source.copy(out, at, start, end);
  for (let i = start; i < end; i++) out[at++] = source[i]!;
  return at;
}

/** The pieces of one projected resource, in output order, as [kind, start, end] offsets of its bytes. */
export class ProjectionPlan {
  private pieces = new Int32Array(3 * 32);
  private count = 0;
  private meta = '';
  private length = 0;
  private readonly tag: Buffer;

  /** @param subsettedTag - what follows the stored meta's members: `,"tag":[...]}` */
  constructor(subsettedTag: string) {
    this.tag = Buffer.from(subsettedTag, 'latin1');
  }

  /** Starts the plan of another resource. */
  reset(): void {
    this.count = 0;
    // `{"resourceType":` and the closing brace.
    this.length = HEAD.length + 1;
  }

  /** The member at bytes[start, end) (key and value), after a comma. */
  copy(start: number, end: number): void {
    this.add(COPY, start, end);
    this.length += 1 + end - start;
  }

  /** `meta` as stored, the object at bytes[start, end), with the SUBSETTED tag added last. */
  storedMeta(start: number, end: number): void {
    this.add(STORED_META, start, end - 1);
    this.length += META_KEY.length + end - 1 - start + this.tag.length;
  }

  /** `meta` given as JSON text whose latin1 encoding is its UTF-8. */
  metaText(text: string): void {
    this.meta = text;
    this.add(META_TEXT, 0, 0);
    this.length += META_KEY.length + text.length;
  }

  /** Writes `{"resourceType":` bytes[typeStart, typeEnd) and the pieces into the sink. */
  write(bytes: Buffer, typeStart: number, typeEnd: number, sink: ProjectionSink): void {
    let at = sink.reserve(this.length + typeEnd - typeStart);
    const out = sink.buffer;
    const pieces = this.pieces;
    at += HEAD.copy(out, at);
    at = copyBytes(bytes, typeStart, typeEnd, out, at);
    for (let p = 0; p < this.count; p += 3) {
      const kind = pieces[p];
      if (kind === COPY) {
        out[at++] = COMMA;
        at = copyBytes(bytes, pieces[p + 1]!, pieces[p + 2]!, out, at);
        continue;
      }
      at += META_KEY.copy(out, at);
      if (kind === STORED_META) {
        at = copyBytes(bytes, pieces[p + 1]!, pieces[p + 2]!, out, at);
        at += this.tag.copy(out, at);
      } else {
        at += out.write(this.meta, at, 'latin1');
      }
    }
    out[at] = CLOSE_OBJECT;
  }

  private add(kind: number, start: number, end: number): void {
    if (this.count + 3 > this.pieces.length) {
      const grown = new Int32Array(this.pieces.length * 2);
      grown.set(this.pieces);
      this.pieces = grown;
    }
    this.pieces[this.count] = kind;
    this.pieces[this.count + 1] = start;
    this.pieces[this.count + 2] = end;
    this.count += 3;
  }
}
