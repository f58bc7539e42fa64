import { SUPPORTING_TYPES } from '../fhir/index.js';

const MARK = Buffer.from('"reference":"');
const QUOTE = 0x22;
const HISTORY = '/_history/';
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * The supporting resources (SUPPORTING_TYPES) that NDJSON output refers to, found in its raw bytes:
 * each `"reference":"` is located with Buffer.indexOf and only its value is decoded, so no row is
 * parsed. Matches what a `"reference":"...Type/id"` pattern over the text finds: relative and absolute
 * references, a `/_history/...` tail dropped; contained, conditional and urn:uuid references name no
 * stored resource and are skipped.
 */
export class RefCollector {
  private readonly refs = new Map<string, { type: string; id: string }>();

  /** How many distinct references are held. */
  get size(): number {
    return this.refs.size;
  }

  /** Add the references found in a chunk of NDJSON bytes. */
  scan(bytes: Buffer): void {
    let at = bytes.indexOf(MARK);
    while (at >= 0) {
      const start = at + MARK.length;
      const end = bytes.indexOf(QUOTE, start);
      if (end < 0) return;
      this.add(bytes.toString('latin1', start, end));
      at = bytes.indexOf(MARK, end + 1);
    }
  }

  /** The references held, and forget them (after they were stored). */
  take(): { type: string; id: string }[] {
    const out = [...this.refs.values()];
    this.refs.clear();
    return out;
  }

  private add(value: string): void {
    const h = value.indexOf(HISTORY);
    const base = h >= 0 ? value.slice(0, h) : value;
    const slash = base.lastIndexOf('/');
    if (slash <= 0) return;
    const id = base.slice(slash + 1);
    const typeStart = base.lastIndexOf('/', slash - 1) + 1;
    const type = base.slice(typeStart, slash);
    if (!SUPPORTING_TYPES.has(type) || !ID.test(id)) return;
    this.refs.set(`${type}/${id}`, { type, id });
  }
}
