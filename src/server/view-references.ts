import {
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  NotSupportedError,
  isValidId,
} from '../fhir/index.js';
import type { ResourceStore, StoredResource } from '../store/index.js';

/** Who resolves a reference: what the token may do, and where this server lives. */
export interface ViewCaller {
  /** The token's scopes; absent when authorization is off. */
  access?: { allows(type: string, perm: 'r'): boolean };
  /** This server's base URL, so an absolute reference to one of its own views resolves locally. */
  baseUrl?: string;
}

/** A view resolver as the view operations take it: a reference in, the ViewDefinition JSON out. */
export type ViewResolver = (reference: string) => Promise<Record<string, unknown>>;

const RELATIVE_RE = /^ViewDefinition\/([^/|]+)$/;
// Canonical lookups read one page: a registry holding more versions of one url than this is not a case.
const CANONICAL_PAGE = 100;

/**
 * The stored ViewDefinition a `viewReference` names (SQL on FHIR v2 operations; digest §4.1): a
 * relative `ViewDefinition/<id>`, an absolute URL of that on this server, or a canonical `url|version`
 * (or a bare canonical `url`, the latest stored version). Views are never fetched from other servers.
 * @param store - where the views are stored
 * @param reference - the reference text
 * @param caller - the token's scopes (reading a stored view needs `ViewDefinition` read) and base URL
 * @returns the ViewDefinition as parsed JSON, not yet validated
 * @throws NotFoundError for no such view; NotSupportedError for a URL this server cannot resolve;
 *   InvalidRequestError for a reference to another type; ForbiddenError without ViewDefinition read
 */
export async function resolveViewReference(
  store: ResourceStore,
  reference: string,
  caller: ViewCaller = {},
): Promise<Record<string, unknown>> {
  if (caller.access && !caller.access.allows('ViewDefinition', 'r')) {
    throw new ForbiddenError("the access token's scopes do not allow reading ViewDefinition", {
      expression: 'viewReference',
    });
  }
  const local =
    caller.baseUrl !== undefined && reference.startsWith(`${caller.baseUrl}/`)
      ? reference.slice(caller.baseUrl.length + 1)
      : reference;
  const relative = RELATIVE_RE.exec(local);
  if (relative) return parsed(await readById(store, relative[1] as string, reference));
  if (/^https?:\/\//.test(reference)) return parsed(await readByCanonical(store, reference));
  throw new InvalidRequestError(
    `viewReference '${reference}' is neither ViewDefinition/<id> nor a canonical url|version`,
    { expression: 'viewReference' },
  );
}

/** {@link resolveViewReference} bound to a store and a caller, in the shape the view operations take. */
export function viewResolver(store: ResourceStore, caller: ViewCaller = {}): ViewResolver {
  return (reference) => resolveViewReference(store, reference, caller);
}

async function readById(store: ResourceStore, id: string, reference: string): Promise<StoredResource> {
  const found = isValidId(id) ? await store.read('ViewDefinition', id) : { status: 'missing' as const };
  if (found.status !== 'found') {
    throw new NotFoundError(`viewReference '${reference}': no stored ViewDefinition has id '${id}'`, {
      expression: 'viewReference',
    });
  }
  return found.resource;
}

async function readByCanonical(store: ResourceStore, reference: string): Promise<StoredResource> {
  const bar = reference.lastIndexOf('|');
  const url = bar < 0 ? reference : reference.slice(0, bar);
  const version = bar < 0 ? undefined : reference.slice(bar + 1);
  const page = await store.search({
    type: 'ViewDefinition',
    url: [version === undefined ? { url } : { url, version }],
    count: CANONICAL_PAGE,
  });
  // Without a version the canonical means the latest one (R4 references.html#canonical): the last written.
  const latest = page.resources.reduce<StoredResource | undefined>(
    (best, r) => (best === undefined || r.lastUpdated > best.lastUpdated ? r : best),
    undefined,
  );
  if (latest !== undefined) return latest;
  if (version !== undefined) {
    throw new NotFoundError(
      `viewReference '${reference}': no stored ViewDefinition has this url and version`,
      {
        expression: 'viewReference',
      },
    );
  }
  throw new NotSupportedError(
    `viewReference '${reference}' is no stored view's url here; views are not fetched from other servers`,
    { expression: 'viewReference' },
  );
}

function parsed(resource: StoredResource): Record<string, unknown> {
  return JSON.parse(resource.json) as Record<string, unknown>;
}
