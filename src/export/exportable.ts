import { RESOURCE_TYPES } from '../fhir/index.js';

// Parameters is a message container, never stored data; everything else the store holds can be exported.
const NOT_EXPORTABLE = new Set(['Parameters']);

/** Resource types a client may name in `_type`. */
export const EXPORTABLE_TYPES: ReadonlySet<string> = new Set(
  [...RESOURCE_TYPES].filter((t) => !NOT_EXPORTABLE.has(t)),
);
