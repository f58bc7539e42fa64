import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FhirResource } from '../fhir/index.js';
import { FhirhoseError, checkResource } from '../fhir/index.js';

// A chunk buffer holds its size plus one read of slack: 256 KiB reads keep that slack small.
const READ_CHUNK_BYTES = 256 * 1024;

/** Whether a loadable file is NDJSON (one resource per line) rather than one JSON document. */
export function isNdjsonFile(file: string): boolean {
  return /\.(ndjson|jsonl)(\.gz)?$/.test(file);
}

/**
 * The bytes of a plain or gzipped NDJSON file in chunks of whole lines, each at least `size` bytes
 * (the last excepted; a longer line makes a longer chunk). A chunk is `buffer[0, length)`; buffers
 * from `spare` are filled first, so memory handed back by the consumer is used again.
 */
export async function* fileChunks(
  file: string,
  size: number,
  spare: Buffer[] = [],
): AsyncGenerator<{ buffer: Buffer; length: number }> {
  const raw = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
  const input: Readable = file.endsWith('.gz') ? pipeline(raw, createGunzip(), () => undefined) : raw;
  const fresh = (carry: number): Buffer => {
    const reused = spare.pop();
    if (reused && reused.length >= carry + READ_CHUNK_BYTES) return reused;
    return Buffer.allocUnsafeSlow(Math.max(size, carry) + READ_CHUNK_BYTES);
  };
  let buffer = fresh(0);
  let length = 0;
  try {
    for await (const data of input as AsyncIterable<Buffer>) {
      if (length + data.length > buffer.length) {
        const grown = Buffer.allocUnsafeSlow(2 * (length + data.length));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      length += data.copy(buffer, length);
      if (length < size) continue;
      const cut = buffer.lastIndexOf(10, length - 1) + 1;
      if (cut === 0) continue;
      const next = fresh(length - cut);
      buffer.copy(next, 0, cut, length);
      yield { buffer, length: cut };
      buffer = next;
      length -= cut;
    }
  } catch (err) {
    // The whole lines read before a failure still count (a truncated .gz keeps what it had).
    const cut = buffer.lastIndexOf(10, length - 1) + 1;
    if (cut > 0) yield { buffer, length: cut };
    throw err;
  }
  if (length > 0) yield { buffer, length };
}

/** A line of NDJSON: the resource it holds (with the line's text), or why it cannot be loaded. */
export type ParsedLine = { resource: FhirResource & { id: string }; text: string } | { reason: string };

/**
 * Visit each line of `bytes[0, length)`, whole NDJSON lines, numbered from 1. Empty lines are
 * counted but not visited. A line that is not valid UTF-8 is rejected (R4 json.html: JSON is UTF-8)
 * rather than decoded to U+FFFD; the chunk is checked at once, and line by line only when it fails.
 * @returns the number of lines
 */
export function eachLine(
  buffer: Buffer,
  length: number,
  visit: (line: number, parsed: ParsedLine) => void,
): number {
  const bytes = buffer.subarray(0, length);
  const checkEach = !isUtf8(bytes);
  let lines = 0;
  // Line by line rather than one string for the chunk: a string that large would stay in the heap
  // until the next full collection.
  for (let start = 0; start < length;) {
    const newline = bytes.indexOf(10, start);
    const end = newline === -1 ? length : newline;
    lines += 1;
    if (checkEach && !isUtf8(bytes.subarray(start, end))) {
      visit(lines, { reason: 'invalid UTF-8: NDJSON and FHIR JSON are UTF-8 text' });
    } else {
      const text = bytes.toString('utf8', start, end).trim();
      if (text !== '') visit(lines, parseLine(text));
    }
    start = end + 1;
  }
  return lines;
}

/**
 * Parse one NDJSON line (already trimmed) into a storable resource, or give the reason it is not one:
 * invalid JSON, or what `checkResource` refuses, as a REST write would be refused.
 */
export function parseLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { reason: `invalid JSON: ${(err as Error).message}` };
  }
  try {
    return {
      resource: checkResource(value, { id: 'required' }) as FhirResource & { id: string },
      text: line,
    };
  } catch (err) {
    if (err instanceof FhirhoseError) return { reason: err.message };
    throw err;
  }
}
