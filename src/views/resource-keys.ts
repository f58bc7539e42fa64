/** The row key of a resource: its `id` (the spec leaves the form to the runner; ours is the id). */
export function resourceKey(resource: unknown): string | undefined {
  if (resource === null || typeof resource !== 'object') return undefined;
  const id = (resource as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

const TYPE_ID = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;

/** The last `Type/id` pair of a reference, without a query or a `/_history/n` suffix. */
function lastPair(literal: string): string {
  const path = literal.split('?')[0]!.replace(/\/_history\/[^/]+$/, '');
  return path.split('/').slice(-2).join('/');
}

/**
 * The key that `getReferenceKey([type])` gives for a Reference: the id of its last `Type/id` pair,
 * ignoring a `/_history/n` suffix so absolute URLs work too. A contained (`#x`), `urn:` or
 * otherwise unresolvable reference, or one to another type than `type`, gives undefined (empty).
 */
export function referenceKey(reference: unknown, type?: string): string | undefined {
  if (reference === null || typeof reference !== 'object') return undefined;
  const literal = (reference as { reference?: unknown }).reference;
  if (typeof literal !== 'string' || literal.startsWith('#') || literal.startsWith('urn:')) return undefined;
  const slash = literal.indexOf('/');
  // Nearly every reference is a bare `Type/id`: matched as it is, without splitting it.
  const simple = slash > 0 && literal.indexOf('/', slash + 1) < 0 && !literal.includes('?');
  const match = TYPE_ID.exec(simple ? literal : lastPair(literal));
  if (!match) return undefined;
  if (type !== undefined && match[1] !== type) return undefined;
  return match[2];
}
