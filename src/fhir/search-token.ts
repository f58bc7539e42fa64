import type { SearchValue } from './search-extract.js';
import { invalidFilter, splitEscaped, unescapeSearch } from './search-query.js';

// Token and string matching. See https://hl7.org/fhir/R4/search.html#token and #string.

/** Tests one value of a resource against one search value. */
export type ValuePredicate = (value: SearchValue) => boolean;

interface TokenCode {
  system: string | undefined;
  code: string | undefined;
  /** Primitive codes carry no system: their system is implied by the element's binding. */
  implicitSystem: boolean;
}

type Json = Record<string, unknown>;

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function asObject(value: unknown): Json {
  return typeof value === 'object' && value !== null ? (value as Json) : {};
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function coding(value: unknown): TokenCode {
  const c = asObject(value);
  return { system: str(c.system), code: str(c.code), implicitSystem: false };
}

function tokenCodes(value: SearchValue): TokenCode[] {
  const data = asObject(value.data);
  switch (value.type) {
    case 'Coding':
      return [coding(data)];
    case 'CodeableConcept':
      return asArray(data.coding).map(coding);
    case 'Identifier':
      return [{ system: str(data.system), code: str(data.value), implicitSystem: false }];
    case 'ContactPoint':
      // ContactPoint.system is `phone`/`email`, not a URI: only the value is a token.
      return [{ system: undefined, code: str(data.value), implicitSystem: true }];
    default:
      if (
        typeof value.data === 'string' ||
        typeof value.data === 'boolean' ||
        typeof value.data === 'number'
      ) {
        return [{ system: undefined, code: String(value.data), implicitSystem: true }];
      }
      return [];
  }
}

/** The texts `:text` searches: CodeableConcept.text, Coding.display and Identifier.type.text. */
function tokenTexts(value: SearchValue): string[] {
  const data = asObject(value.data);
  const texts: unknown[] = [];
  if (value.type === 'CodeableConcept')
    texts.push(data.text, ...asArray(data.coding).map((c) => asObject(c).display));
  else if (value.type === 'Coding') texts.push(data.display);
  else if (value.type === 'Identifier') texts.push(asObject(data.type).text);
  return texts.filter((t): t is string => typeof t === 'string');
}

/** Case- and accent-insensitive form of a string for string search. */
export function normalizeText(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * Compiles one token search value: `code`, `system|code`, `|code` or `system|`; with `:text`, a
 * string match on the display texts. Primitive codes match on the code alone.
 * @throws InvalidRequestError for a value with more than one unescaped `|`, or a bare `|`
 */
export function compileTokenPredicate(
  raw: string,
  name: string,
  modifier: string | undefined,
): ValuePredicate {
  if (modifier === 'text') {
    const needle = normalizeText(unescapeSearch(raw));
    return (value) => tokenTexts(value).some((t) => normalizeText(t).startsWith(needle));
  }
  const parts = splitEscaped(raw, '|').map(unescapeSearch);
  if (parts.length > 2) throw invalidFilter(`token '${raw}' of parameter '${name}' has more than one '|'`);
  const [first = '', second] = parts;
  if (second === undefined) return (value) => tokenCodes(value).some((c) => c.code === first);
  if (first === '' && second === '') throw invalidFilter(`token '|' of parameter '${name}' is empty`);
  const systemOk = (c: TokenCode): boolean =>
    c.implicitSystem || (first === '' ? c.system === undefined : c.system === first);
  if (second === '') return (value) => tokenCodes(value).some((c) => !c.implicitSystem && c.system === first);
  return (value) => tokenCodes(value).some((c) => c.code === second && systemOk(c));
}

function humanNameTexts(data: Json): unknown[] {
  const given = asArray(data.given);
  const prefix = asArray(data.prefix);
  const suffix = asArray(data.suffix);
  const join = (items: unknown[]): string => items.filter((s) => typeof s === 'string').join(' ');
  return [
    data.text,
    data.family,
    ...given,
    ...prefix,
    ...suffix,
    join([...given, data.family]),
    join([...prefix, ...given, data.family, ...suffix]),
  ];
}

function addressTexts(data: Json): unknown[] {
  const line = asArray(data.line);
  const parts = [data.city, data.district, data.state, data.postalCode, data.country];
  const join = (items: unknown[]): string => items.filter((s) => typeof s === 'string').join(' ');
  return [data.text, ...line, ...parts, join(line), join([...line, ...parts])];
}

/** The strings a string parameter searches in one value (HumanName and Address: parts and their joins). */
function stringTexts(value: SearchValue): string[] {
  if (typeof value.data === 'string') return [value.data];
  const data = asObject(value.data);
  let texts: unknown[] = [];
  if (value.type === 'HumanName') texts = humanNameTexts(data);
  else if (value.type === 'Address') texts = addressTexts(data);
  else if (value.type === 'CodeableConcept' || value.type === 'Annotation') texts = [data.text];
  else if (value.type === 'Coding') texts = [data.display];
  return texts.filter((t): t is string => typeof t === 'string' && t !== '');
}

/**
 * Compiles one string search value: a case- and accent-insensitive prefix match by default,
 * `:exact` for an exact case-sensitive match and `:contains` for a substring match.
 */
export function compileStringPredicate(raw: string, modifier: string | undefined): ValuePredicate {
  const text = unescapeSearch(raw);
  if (modifier === 'exact') return (value) => stringTexts(value).some((t) => t === text);
  const needle = normalizeText(text);
  if (modifier === 'contains')
    return (value) => stringTexts(value).some((t) => normalizeText(t).includes(needle));
  return (value) => stringTexts(value).some((t) => normalizeText(t).startsWith(needle));
}
