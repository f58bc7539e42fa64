import { InvalidRequestError } from '../fhir/index.js';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;
const SAFE_PREFIX = /^[A-Za-z0-9._-]{0,200}$/;

/** Accept a job id or file name only if it cannot leave the job's folder (or key prefix). */
export function checkName(part: string): string {
  // Names come from URLs on the download path: refuse anything that could leave the job folder.
  if (!SAFE_NAME.test(part) || part.includes('..')) {
    throw new InvalidRequestError(`invalid file name '${part}'`, { expression: 'file' });
  }
  return part;
}

/** Accept a name prefix (possibly empty) made of the characters names are made of. */
export function checkPrefix(prefix: string): string {
  if (!SAFE_PREFIX.test(prefix) || prefix.includes('..')) {
    throw new InvalidRequestError(`invalid file name prefix '${prefix}'`, { expression: 'file' });
  }
  return prefix;
}
