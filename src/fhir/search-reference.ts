import { isResourceType } from './resource-types.js';
import type { SearchValue } from './search-extract.js';
import { invalidFilter, unescapeSearch } from './search-query.js';
import { compileTokenPredicate } from './search-token.js';
import type { ValuePredicate } from './search-token.js';

// Reference and uri search. See https://hl7.org/fhir/R4/search.html#reference and #uri.

const RELATIVE_RE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;
const HISTORY_RE = /\/_history\/[^/]+$/;

/** True when the value is an absolute URI (`http://...`, `urn:uuid:...`), not `Type/id` or an id. */
function isAbsolute(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value);
}

/** Drops `|version` from a canonical URL. */
function unversioned(url: string): string {
  const bar = url.lastIndexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

/** Exact URL match; a search URL without `|version` also matches any version of a canonical. */
function urlEquals(stored: string, search: string): boolean {
  return stored === search || (!search.includes('|') && unversioned(stored) === search);
}

function referenceText(value: SearchValue): string | undefined {
  if (typeof value.data === 'string') return value.data;
  if (value.type !== 'Reference' || typeof value.data !== 'object' || value.data === null) return undefined;
  const reference = (value.data as { reference?: unknown }).reference;
  return typeof reference === 'string' ? reference : undefined;
}

/**
 * Parses a reference search value: `Type/id`, `id` (any type, or the `:Type` modifier's type), or an
 * absolute URL (matched as text; relative references are not resolved against a server base).
 */
type Target = { kind: 'url'; url: string } | { kind: 'local'; type: string | undefined; id: string };

function parseTarget(raw: string, name: string, typeModifier: string | undefined): Target {
  const text = unescapeSearch(raw);
  if (isAbsolute(text)) return { kind: 'url', url: text.replace(HISTORY_RE, '') };
  const m = RELATIVE_RE.exec(text);
  if (m) {
    const [, type = '', id = ''] = m;
    if (typeModifier !== undefined && typeModifier !== type) {
      throw invalidFilter(
        `reference '${raw}' contradicts the modifier ':${typeModifier}' of parameter '${name}'`,
      );
    }
    return { kind: 'local', type, id };
  }
  if (/^[A-Za-z0-9\-.]{1,64}$/.test(text)) return { kind: 'local', type: typeModifier, id: text };
  throw invalidFilter(`parameter '${name}' has an invalid reference '${raw}'`);
}

/**
 * Compiles one reference search value. `modifier` is a resource type (`subject:Patient=123`),
 * `identifier` (a token on Reference.identifier) or undefined.
 * @throws InvalidRequestError for a malformed reference or an unknown type modifier
 */
export function compileReferencePredicate(
  raw: string,
  name: string,
  modifier: string | undefined,
): ValuePredicate {
  if (modifier === 'identifier') {
    const token = compileTokenPredicate(raw, name, undefined);
    return (value) => {
      const data = value.type === 'Reference' ? (value.data as { identifier?: unknown }) : {};
      return data.identifier !== undefined && token({ type: 'Identifier', data: data.identifier });
    };
  }
  if (modifier !== undefined && !isResourceType(modifier)) {
    throw invalidFilter(`':${modifier}' on parameter '${name}' is not a resource type`);
  }
  const target = parseTarget(raw, name, modifier);
  if (target.kind === 'url') {
    const { url } = target;
    return (value) => {
      const text = referenceText(value);
      return text !== undefined && urlEquals(text.replace(HISTORY_RE, ''), url);
    };
  }
  const { type, id } = target;
  return (value) => {
    const m = RELATIVE_RE.exec(referenceText(value) ?? '');
    return m !== null && m[2] === id && (type === undefined || m[1] === type);
  };
}

/** True when `url` is `base` or lies below it in the path hierarchy. */
function isBelow(url: string, base: string): boolean {
  return url === base || url.startsWith(base.endsWith('/') ? base : `${base}/`);
}

/**
 * Compiles one uri search value: exact match (a canonical also without its `|version`),
 * `:below` (the stored URL starts with the search URL) or `:above` (the reverse).
 */
export function compileUriPredicate(raw: string, modifier: string | undefined): ValuePredicate {
  const search = unescapeSearch(raw);
  const text = (value: SearchValue): string | undefined =>
    typeof value.data === 'string' ? value.data : undefined;
  if (modifier === 'below') {
    return (value) => {
      const stored = text(value);
      return stored !== undefined && isBelow(unversioned(stored), search);
    };
  }
  if (modifier === 'above') {
    return (value) => {
      const stored = text(value);
      return stored !== undefined && isBelow(search, unversioned(stored));
    };
  }
  return (value) => {
    const stored = text(value);
    return stored !== undefined && urlEquals(stored, search);
  };
}
