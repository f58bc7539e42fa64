// The `Prefer` request header as the Bulk Data kick-off reads it; the parsing is `src/fhir/prefer.ts`.
// See https://hl7.org/fhir/uv/bulkdata/export.html#headers.
import { readPreferences } from '../fhir/index.js';

/** The kick-off preferences fhirhose acts on. */
export interface KickoffPreferences {
  /** `respond-async` was sent. Its absence is accepted: Bulk Data v2+ lets the server assume it. */
  respondAsync: boolean;
  /** `handling=lenient` was sent (and no earlier `handling=strict`). */
  lenient: boolean;
  /** `separate-export-status` was sent (Bulk Data v3). */
  separateExportStatus: boolean;
}

/**
 * Reads the kick-off preferences from every `Prefer` header value; the `handling` value is
 * case-insensitive, only the first `handling` counts, and unknown preferences are ignored.
 * @param values - all `Prefer` header values of the request, in order
 */
export function parsePrefer(values: readonly string[]): KickoffPreferences {
  const prefs = readPreferences(values);
  return {
    respondAsync: prefs.has('respond-async'),
    lenient: prefs.get('handling')?.toLowerCase() === 'lenient',
    separateExportStatus: prefs.has('separate-export-status'),
  };
}
