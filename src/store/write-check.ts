import type { FhirResource } from '../fhir/index.js';
import { InvalidRequestError, isValidId, PreconditionFailedError } from '../fhir/index.js';
import type { WriteResult } from './types.js';

/** What one write made (or found), before the store adds the resource's type and id. */
export type WriteDone = Omit<WriteResult, 'type' | 'id'>;

/** The current version of a resource as a writer reads it before writing. */
export interface CurrentVersion {
  version: number;
  last_updated: number;
  hash: string;
  json: string;
}

/**
 * A resource written at its own id (update, ingest) must carry a valid one.
 * @throws InvalidRequestError when `id` is missing or not a FHIR id
 */
export function requireId(resource: FhirResource): FhirResource & { id: string } {
  if (!isValidId(resource.id)) {
    throw new InvalidRequestError(`${resource.resourceType} has no valid id`, { expression: 'id' });
  }
  return resource as FhirResource & { id: string };
}

/**
 * What every write checks against the current version before it writes: `If-Match`, and content
 * equal to it (same hash), which makes no version. Returns the answer of such a write, or undefined
 * when the write goes ahead.
 * @throws PreconditionFailedError when `ifMatch` is given and is not the current version
 */
export function unchangedWrite(
  key: { type: string; id: string; hash: string },
  current: CurrentVersion | undefined,
  ifMatch: number | undefined,
): WriteDone | undefined {
  if (ifMatch !== undefined && current?.version !== ifMatch) {
    throw new PreconditionFailedError(
      `${key.type}/${key.id} is at version ${current?.version ?? 'none'}, not ${ifMatch}`,
      { expression: 'If-Match' },
    );
  }
  if (current?.hash !== key.hash) return undefined;
  return {
    outcome: 'unchanged',
    versionId: current.version,
    lastUpdated: current.last_updated,
    json: current.json,
  };
}
