import type { FhirResource } from '../fhir/index.js';
import { ATTACHMENT_TYPES, hasRelativeUrl, resolveAttachments } from '../fhir/index.js';

// The byte-copy path stays a copy: only rows of a type that can hold an Attachment, and whose bytes
// show a relative `"url":"`, are parsed, resolved and serialized again (src/fhir/attachments.ts).

/**
 * NDJSON bytes of one type with relative Attachment URLs resolved, or undefined when nothing changed
 * (the caller then writes the stored bytes as they are).
 * @param bytes - whole newline-terminated lines of `type`
 */
export function resolveChunk(bytes: Buffer, type: string, baseUrl: string): Buffer | undefined {
  if (!ATTACHMENT_TYPES.has(type) || !hasRelativeUrl(bytes)) return undefined;
  const parts: Buffer[] = [];
  let copied = 0;
  let start = 0;
  while (start < bytes.length) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl < 0 ? bytes.length : nl;
    if (hasRelativeUrl(bytes, start, end)) {
      const line = resolveLine(bytes.toString('utf8', start, end), baseUrl);
      if (line !== undefined) {
        parts.push(bytes.subarray(copied, start), Buffer.from(line, 'utf8'));
        copied = end;
      }
    }
    start = end + 1;
  }
  if (parts.length === 0) return undefined;
  parts.push(bytes.subarray(copied));
  return Buffer.concat(parts);
}

/** One stored row with its Attachment URLs resolved, or undefined when none was relative. */
export function resolveLine(json: string, baseUrl: string): string | undefined {
  const resource = JSON.parse(json) as FhirResource;
  return resolveAttachments(resource, baseUrl) ? JSON.stringify(resource) : undefined;
}
