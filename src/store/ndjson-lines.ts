import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FhirResource } from '../fhir/index.js';
import { isResource, isResourceType, isValidId } from '../fhir/index.js';

const READ_CHUNK_BYTES = 1024 * 1024;

/** Whether a loadable file is NDJSON (one resource per line) rather than one JSON document. */
export function isNdjsonFile(file: string): boolean {
  return /\.(ndjson|jsonl)(\.gz)?$/.test(file);
}

/**
 * The lines of a plain or gzipped text file, in chunks of lines (one per read, so the caller pays one
 * await per chunk rather than per line). Every line is yielded, empty ones too, so the caller can
 * number them; a trailing CR is kept.
 */
export async function* fileLines(file: string): AsyncGenerator<string[]> {
  const raw = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
  // pipeline() destroys the last stream on any error, which ends the loop below with that error.
  const input: Readable = file.endsWith('.gz') ? pipeline(raw, createGunzip(), () => undefined) : raw;
  input.setEncoding('utf8');
  let rest = '';
  for await (const chunk of input as AsyncIterable<string>) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    if (lines.length > 0) yield lines;
  }
  if (rest !== '') yield [rest];
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

/** Why a parsed value cannot be stored, or undefined when it can. */
export function rejectReason(value: unknown): string | undefined {
  if (!isResource(value)) return 'not a FHIR resource (no resourceType)';
  if (!isResourceType(value.resourceType)) return `unknown resourceType '${value.resourceType}'`;
  if (!isValidId(value.id)) return `${value.resourceType} has no valid id`;
  return undefined;
}

/** Parse one NDJSON line (already trimmed) into a storable resource, or give the reason it is not one. */
export function parseLine(line: string): { resource: FhirResource & { id: string } } | { reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { reason: `invalid JSON: ${(err as Error).message}` };
  }
  const reason = rejectReason(value);
  return reason === undefined ? { resource: value as FhirResource & { id: string } } : { reason };
}
