import type { StoredResource } from './types.js';

/** A version as both databases return it from `resource` or `resource_history` (JSON as text or bytes). */
export interface VersionRow<J extends string | Buffer = string> {
  type: string;
  id: string;
  version: number;
  last_updated: number;
  json: J;
}

/** A version row as the store hands it out. */
export function toStored(r: VersionRow): StoredResource {
  return { type: r.type, id: r.id, versionId: r.version, lastUpdated: r.last_updated, json: r.json };
}
