import { isValidId } from './resource.js';
import { isResourceType } from './resource-types.js';

/** A parsed literal reference. `type` is absent for `urn:uuid:` references, which only a Bundle can resolve. */
export interface ParsedReference {
  type?: string;
  id: string;
}

const UUID_RE = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const ABSOLUTE_RE = /^https?:\/\/[^/?#\s]+\/[^?#\s]+$/;
const URN_UUID = 'urn:uuid:';
const HISTORY = '_history';

/**
 * Parses a FHIR literal reference (`Reference.reference`), following the R4 reference grammar
 * (https://hl7.org/fhir/R4/references.html#literal). Accepted forms:
 * - `Type/id` and `Type/id/_history/vid`;
 * - an absolute http(s) URL ending in `Type/id` or `Type/id/_history/vid` (the base is dropped: the
 *   caller decides whether it names this server);
 * - `urn:uuid:<uuid>`, returned as `{ id }` with no type, for the caller to resolve.
 *
 * The type must be an R4 resource type and the ids valid FHIR ids. Contained references (`#x`),
 * conditional references (`Type?query`), `urn:oid:`, and anything else give undefined.
 * @param ref - the `reference` string
 * @returns the type and id, or undefined when `ref` is not a literal reference we can resolve
 */
export function parseReference(ref: string): ParsedReference | undefined {
  if (typeof ref !== 'string') return undefined;
  if (ref.startsWith(URN_UUID)) {
    const uuid = ref.slice(URN_UUID.length);
    return UUID_RE.test(uuid) ? { id: uuid } : undefined;
  }
  const parts = ref.split('/');
  if (parts.length === 2 || (parts.length === 4 && parts[2] === HISTORY)) {
    return typeAndId(parts, 0, parts.length === 4);
  }
  if (!ABSOLUTE_RE.test(ref)) return undefined;
  // parts: ['http:', '', host, ...path]; the tail must be Type/id or Type/id/_history/vid.
  const n = parts.length;
  if (n >= 7 && parts[n - 2] === HISTORY) return typeAndId(parts, n - 4, true);
  return n >= 5 ? typeAndId(parts, n - 2, false) : undefined;
}

function typeAndId(parts: readonly string[], at: number, history: boolean): ParsedReference | undefined {
  const type = parts[at];
  const id = parts[at + 1];
  if (!isResourceType(type) || !isValidId(id)) return undefined;
  if (history && !isValidId(parts[at + 3])) return undefined;
  return { type, id };
}
