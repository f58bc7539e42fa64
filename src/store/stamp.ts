import { createHash } from 'node:crypto';
import type { FhirResource } from '../fhir/index.js';
import { formatInstant } from '../fhir/index.js';

const MARK_V = '__fhirhose_version__';
const MARK_L = '__fhirhose_lastupdated__';
const MARKS = `"versionId":"${MARK_V}","lastUpdated":"${MARK_L}"`;

/** A resource serialized once, with a content hash that ignores versionId and lastUpdated. */
export interface PreparedResource {
  type: string;
  id: string;
  hash: string;
  /** JSON text with placeholder meta values; `stampJson` fills them in. */
  template: string;
}

/**
 * Serialize a resource for storage. Meta.versionId and meta.lastUpdated are replaced by fixed
 * placeholders first, so the hash compares content only and one JSON.stringify serves both
 * the hash and the stored text. Mutates `resource.meta`.
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
    // Fast path for loading: splice meta into the original text instead of serializing again.
    const template = `${prefix}"meta":{${MARKS}},${text.slice(prefix.length)}`;
    const hash = createHash('sha1').update(template).digest('base64');
    return { type, id: resource.id, hash, template };
  }
  const { versionId: _v, lastUpdated: _l, ...rest } = resource.meta ?? {};
  resource.meta = { versionId: MARK_V, lastUpdated: MARK_L, ...rest };
  const template = JSON.stringify(resource);
  const hash = createHash('sha1').update(template).digest('base64');
  return { type: resource.resourceType, id: resource.id, hash, template };
}

/** Fill the version placeholders of a prepared template. */
export function stampJson(template: string, versionId: number, lastUpdated: number): string {
  return template.replace(MARKS, `"versionId":"${versionId}","lastUpdated":"${formatInstant(lastUpdated)}"`);
}
