// The `Prefer` request header (RFC 7240), which FHIR R4 uses for `handling` and `return`
// (http.html#ops) and Bulk Data for `respond-async` and `separate-export-status`.
// See https://www.rfc-editor.org/rfc/rfc7240.

/**
 * Reads every preference from the `Prefer` header values of one request, in order. Each value is a
 * comma-separated list of `token[=word]` preferences with optional `;` parameters (ignored here); a
 * word may be a quoted-string. Names are lower-cased; words are unquoted but keep their case, since
 * some (`return=OperationOutcome`) are case-sensitive. Per RFC 7240 section 2 a preference sent more
 * than once counts only the first time, so the map keeps the first word of each name (`''` for none).
 * @param header - the header as Node gives it: one string, several, or none
 */
export function readPreferences(header: string | readonly string[] | undefined): Map<string, string> {
  const prefs = new Map<string, string>();
  if (header === undefined) return prefs;
  for (const value of typeof header === 'string' ? [header] : header) {
    for (const preference of splitOutsideQuotes(value, ',')) {
      const [head = ''] = splitOutsideQuotes(preference, ';');
      const eq = head.indexOf('=');
      const name = (eq < 0 ? head : head.slice(0, eq)).trim().toLowerCase();
      if (name === '' || prefs.has(name)) continue;
      prefs.set(name, eq < 0 ? '' : unquote(head.slice(eq + 1).trim()));
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
