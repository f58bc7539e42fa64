import type { ElementsSpec, FhirResource, RawPrecheck, ResourcePredicate } from '../fhir/index.js';
import {
  ATTACHMENT_TYPES,
  hasRelativeUrl,
  projectElements,
  projectElementsRawInto,
  resolveAttachments,
} from '../fhir/index.js';
import { NdjsonChunkFiller } from '../store/index.js';

// One stored row to one output line: parsed (filters, projections, relative URLs), or on its bytes
// where that gives the same line (a row a pre-check rejects, a projection copied as byte slices).

/** How stored rows become output lines. */
export interface LineOptions {
  filter?: ResourcePredicate | undefined;
  elements?: ElementsSpec | undefined;
  /** Resolve relative `Attachment.url` values against this base URL. */
  baseUrl?: string | undefined;
}

/** The output line of one stored row, parsed; undefined when the filter rejects it. */
export function lineOf(json: string, options: LineOptions): string | undefined {
  const { filter, elements, baseUrl } = options;
  const resource = JSON.parse(json) as FhirResource;
  if (filter && !filter(resource)) return undefined;
  const resolved = baseUrl !== undefined && resolveAttachments(resource, baseUrl);
  const projected = elements ? projectElements(resource, elements) : undefined;
  return projected || resolved ? JSON.stringify(projected ?? resource) : json;
}

/** LineOptions for rows of one type given as bytes, with the byte pre-check of its filter. */
export interface RowOptions extends LineOptions {
  type: string;
  precheck?: RawPrecheck | undefined;
}

/**
 * Chunk buffers given back once written, shared by every byte scan of the thread: a chunk is filled
 * in place (rows copied, projections written straight into it), so a scan leaves no buffer per row
 * or per batch for the collector, which frees external memory by time rather than by bytes.
 */
const spareChunks: Buffer[] = [];

/** Writes the output line of one row into the chunk, or nothing when it is filtered out. */
function addLine(filler: NdjsonChunkFiller, row: Buffer, options: RowOptions): void {
  const { type, filter, precheck, elements, baseUrl } = options;
  if (precheck && !precheck(row)) return;
  // A relative Attachment.url is resolved on the parsed resource, like the plain path does.
  const resolves = baseUrl !== undefined && ATTACHMENT_TYPES.has(type) && hasRelativeUrl(row);
  if (!filter && elements && !resolves) {
    const done = projectElementsRawInto(row, type, elements, filler);
    if (done === true) return filler.endLine();
    if (done === null) return filler.add(row);
  }
  const json = row.toString('utf8');
  const line = lineOf(json, options);
  if (line === undefined) return;
  // An unchanged line is the stored row: its bytes need no encoding again.
  if (line === json) filler.add(row);
  else filler.addText(line);
}

/**
 * Writes the NDJSON output of stored rows (each one's UTF-8 JSON) into `filler`: the same lines as
 * lineOf on each row, but parsing only rows that pass the byte pre-check and that a byte projection
 * cannot handle.
 */
export function addRowLines(filler: NdjsonChunkFiller, rows: readonly Buffer[], options: RowOptions): void {
  for (const row of rows) addLine(filler, row, options);
}

/**
 * A filler for the output of byte scans, about `budget` bytes a chunk. Its chunks' buffers are reused
 * once `release` is called: call it when the bytes are written.
 */
export function rowChunkFiller(budget: number): NdjsonChunkFiller {
  return new NdjsonChunkFiller(budget, spareChunks);
}
