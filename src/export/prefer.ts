// The `Prefer` request header (RFC 7240) as the Bulk Data kick-off reads it.
// See https://hl7.org/fhir/uv/bulkdata/export.html#headers and https://www.rfc-editor.org/rfc/rfc7240.

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
 * Reads the preferences from every `Prefer` header value. Each value is a comma-separated list of
 * `token[=word]` preferences with optional `;` parameters; names and the `handling` value are
 * case-insensitive, and a value may be quoted. Per RFC 7240 section 2 only the first `handling` counts,
 * and unknown preferences (`return=minimal`, `wait=10`) are ignored.
 * @param values - all `Prefer` header values of the request, in order
 */
export function parsePrefer(values: readonly string[]): KickoffPreferences {
  const prefs: KickoffPreferences = { respondAsync: false, lenient: false, separateExportStatus: false };
  let handlingSeen = false;
  for (const value of values) {
    for (const preference of splitOutsideQuotes(value, ',')) {
      const [head = ''] = splitOutsideQuotes(preference, ';');
      const eq = head.indexOf('=');
      const name = (eq < 0 ? head : head.slice(0, eq)).trim().toLowerCase();
      const word = eq < 0 ? '' : unquote(head.slice(eq + 1).trim()).toLowerCase();
      if (name === 'respond-async') prefs.respondAsync = true;
      else if (name === 'separate-export-status') prefs.separateExportStatus = true;
      else if (name === 'handling' && !handlingSeen) {
        handlingSeen = true;
        prefs.lenient = word === 'lenient';
      }
    }
  }
  return prefs;
}

/** Splits `text` at `separator`, except inside a quoted-string (which may hold `\"` escapes). */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted && ch === '\\') i++;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function unquote(word: string): string {
  if (word.length < 2 || !word.startsWith('"') || !word.endsWith('"')) return word;
  return word.slice(1, -1).replace(/\\(.)/g, '$1');
}
