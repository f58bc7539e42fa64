import { createHash } from 'node:crypto';
import type { FhirResource } from '../fhir/index.js';

const MARK_V = '__fhirhose_version__';
const MARK_L = '__fhirhose_lastupdated__';

/** The placeholder meta fields a content hash is taken over, so that it ignores the version. */
export const MARKS = `"versionId":"${MARK_V}","lastUpdated":"${MARK_L}"`;

/**
 * A resource serialized once, with a content hash that ignores versionId and lastUpdated. The hash is
 * SHA-1 over the UTF-8 of `head + MARKS + tail`, so it stays comparable with the hashes already stored.
 */
export interface PreparedResource {
  type: string;
  id: string;
  hash: string;
  /** JSON text up to the meta version fields... */
  head: string;
  /** ...and after them: `stampJson` puts the version between the two. */
  tail: string;
}

/**
 * Whether `text`, the compact JSON `resource` was parsed from, can take meta by splicing
 * `"meta":{...},` in after its resourceType, instead of serializing the resource again.
 */
export function canSplice(resource: FhirResource, text: string): boolean {
  return (
    resource.meta === undefined &&
    text.startsWith(splicePrefix(resource.resourceType)) &&
    !text.includes(MARK_V)
  );
}

/** What a spliceable text of this type starts with. */
export function splicePrefix(type: string): string {
  return `{"resourceType":"${type}",`;
}

/**
 * Serialize a resource for storage. Meta.versionId and meta.lastUpdated are replaced by fixed
 * placeholders first, so the hash compares content only and one serialization serves both the hash
 * and the stored text. When `canSplice(resource, text)`, meta is spliced into `text` instead of
 * serializing again. Mutates `resource.meta`.
 */
export function prepareResource(resource: FhirResource & { id: string }, text?: string): PreparedResource {
  const type = resource.resourceType;
  if (text !== undefined && canSplice(resource, text)) {
    const prefix = splicePrefix(type);
    const head = `${prefix}"meta":{`;
    const tail = `},${text.slice(prefix.length)}`;
    return { type, id: resource.id, hash: hashOf(head, tail), head, tail };
  }
  const { versionId: _v, lastUpdated: _l, ...rest } = resource.meta ?? {};
  resource.meta = { versionId: MARK_V, lastUpdated: MARK_L, ...rest };
  const template = JSON.stringify(resource);
  const at = template.indexOf(MARKS);
  const head = template.slice(0, at);
  const tail = template.slice(at + MARKS.length);
  return { type, id: resource.id, hash: hashOf(head, tail), head, tail };
}

function hashOf(head: string, tail: string): string {
  return createHash('sha1').update(head).update(MARKS).update(tail).digest('base64');
}

/** The meta version fields as stored, for a formatted FHIR instant. */
export function versionFields(versionId: number, lastUpdated: string): string {
  return `"versionId":"${versionId}","lastUpdated":"${lastUpdated}"`;
}

/** The stored JSON of a prepared resource at a version; `lastUpdated` is a formatted FHIR instant. */
export function stampJson(
  prepared: { head: string; tail: string },
  versionId: number,
  lastUpdated: string,
): string {
  return prepared.head + versionFields(versionId, lastUpdated) + prepared.tail;
}
