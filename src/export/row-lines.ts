import type { ElementsSpec, FhirResource, RawPrecheck, ResourcePredicate } from '../fhir/index.js';
import {
  ATTACHMENT_TYPES,
  hasRelativeUrl,
  projectElements,
  projectElementsRaw,
  resolveAttachments,
} from '../fhir/index.js';

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

/** Output lines as NDJSON bytes. */
export interface RowChunk {
  bytes: Buffer;
  lines: number;
}

const NEWLINE = Buffer.from('\n');

/** The output line of one row as bytes, or undefined when it is filtered out. */
function rowLine(row: Buffer, options: RowOptions): Buffer | undefined {
  const { type, filter, precheck, elements, baseUrl } = options;
  if (precheck && !precheck(row)) return undefined;
  // A relative Attachment.url is resolved on the parsed resource, like the plain path does.
  const resolves = baseUrl !== undefined && ATTACHMENT_TYPES.has(type) && hasRelativeUrl(row);
  if (!filter && elements && !resolves) {
    const projected = projectElementsRaw(row, type, elements);
    if (projected === null) return row;
    if (projected !== undefined) return projected;
  }
  const json = row.toString('utf8');
  const line = lineOf(json, options);
  if (line === undefined) return undefined;
  // An unchanged line is the stored row: its bytes need no encoding again.
  return line === json ? row : Buffer.from(line, 'utf8');
}

/**
 * Turns stored rows (each one's UTF-8 JSON) into NDJSON output, with the same lines as lineOf on each
 * row, but parsing only rows that pass the byte pre-check and that a byte projection cannot handle.
 */
export function rowsToChunk(rows: readonly Buffer[], options: RowOptions): RowChunk {
  const parts: Buffer[] = [];
  let size = 0;
  for (const row of rows) {
    const line = rowLine(row, options);
    if (line === undefined) continue;
    parts.push(line, NEWLINE);
    size += line.length + 1;
  }
  return { bytes: Buffer.concat(parts, size), lines: parts.length / 2 };
}
