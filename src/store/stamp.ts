import { createHash } from 'node:crypto';
import type { FhirResource } from '../fhir/index.js';

const MARK_V = '__fhirhose_version__';
const MARK_L = '__fhirhose_lastupdated__';
const MARKS = `"versionId":"${MARK_V}","lastUpdated":"${MARK_L}"`;

/**
 * A resource serialized once, with a content hash that ignores versionId and lastUpdated. The hash is
 * taken over `head + MARKS + tail`, so it stays comparable with the hashes already stored.
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
 * Serialize a resource for storage. Meta.versionId and meta.lastUpdated are replaced by fixed
 * placeholders first, so the hash compares content only and one serialization serves both the hash
 * and the stored text. When `text` is the compact JSON the resource was parsed from and it has no
 * meta, meta is spliced into that text instead of serializing again. Mutates `resource.meta`.
 */
export function prepareResource(resource: FhirResource & { id: string }, text?: string): PreparedResource {
  const type = resource.resourceType;
  const prefix = `{"resourceType":"${type}",`;
  if (
    text !== undefined &&
    resource.meta === undefined &&
    text.startsWith(prefix) &&
    !text.includes(MARK_V)
  ) {
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

/** The stored JSON of a prepared resource at a version; `lastUpdated` is a formatted FHIR instant. */
export function stampJson(
  prepared: { head: string; tail: string },
  versionId: number,
  lastUpdated: string,
): string {
  return `${prepared.head}"versionId":"${versionId}","lastUpdated":"${lastUpdated}"${prepared.tail}`;
}
