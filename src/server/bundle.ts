import type { SearchPage } from '../store/index.js';

/** Inputs of a searchset Bundle. */
export interface SearchBundleInput {
  baseUrl: string;
  type: string;
  /** The parameters the search used, without `_cursor`. */
  params: readonly (readonly [string, string])[];
  /** The cursor of this page, if it is not the first. */
  cursor?: string;
  /** Its `total`, when set, becomes Bundle.total. */
  page: SearchPage;
}

/**
 * Render a searchset Bundle as JSON text (R4 bundle.html, search.html#return). Stored resource JSON is
 * spliced in as it is, never parsed and re-serialized.
 */
export function renderSearchBundle(input: SearchBundleInput): string {
  const { baseUrl, type, params, page } = input;
  const links = [{ relation: 'self', url: searchUrl(baseUrl, type, params, input.cursor) }];
  if (page.next !== undefined)
    links.push({ relation: 'next', url: searchUrl(baseUrl, type, params, page.next) });
  let out = '{"resourceType":"Bundle","type":"searchset"';
  if (page.total !== undefined) out += `,"total":${page.total}`;
  out += `,"link":${JSON.stringify(links)}`;
  // FHIR JSON has no empty arrays: an empty page has no `entry`.
  if (page.resources.length > 0) {
    const entries = page.resources.map(
      (r) =>
        `{"fullUrl":${JSON.stringify(`${baseUrl}/${r.type}/${r.id}`)},"resource":${r.json},"search":{"mode":"match"}}`,
    );
    out += `,"entry":[${entries.join(',')}]`;
  }
  return `${out}}`;
}

/** `<base>/<type>?<params>[&_cursor=c]`, keeping `:` `,` `/` readable. */
export function searchUrl(
  baseUrl: string,
  type: string,
  params: readonly (readonly [string, string])[],
  cursor?: string,
): string {
  const all = cursor === undefined ? params : [...params, ['_cursor', cursor] as const];
  const query = all.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
  return query === '' ? `${baseUrl}/${type}` : `${baseUrl}/${type}?${query}`;
}

function encode(text: string): string {
  return encodeURIComponent(text).replace(/%3A/gi, ':').replace(/%2C/gi, ',').replace(/%2F/gi, '/');
}
