import { randomUUID } from 'node:crypto';
import type { FhirResource } from '../fhir/index.js';
import { isResource, isValidId } from '../fhir/index.js';

/** One operation a Bundle entry asks for. */
export type BundleOp =
  { kind: 'put'; resource: FhirResource & { id: string } } | { kind: 'delete'; type: string; id: string };

const READABLE_TYPES = new Set(['transaction', 'batch', 'collection', 'searchset', 'history']);

/**
 * Turn a Bundle into store operations. `urn:uuid:` fullUrls become `Type/id` and every reference to
 * them is rewritten (https://hl7.org/fhir/R4/bundle.html#references). Throws Error with a reason.
 */
export function bundleOperations(bundle: FhirResource): BundleOp[] {
  if (typeof bundle.type !== 'string' || !READABLE_TYPES.has(bundle.type)) {
    throw new Error(`Bundle.type '${String(bundle.type)}' cannot be loaded`);
  }
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as Record<string, unknown>[]) : [];
  const rewrites = new Map<string, string>();
  const ops: (BundleOp | { kind: 'pending'; resource: FhirResource })[] = [];
  entries.forEach((entry, i) => {
    const request = (entry.request ?? {}) as { method?: string; url?: string };
    if (request.method === 'DELETE') {
      const [type, id] = String(request.url ?? '').split('/');
      if (!type || !id || !isValidId(id)) throw new Error(`entry ${i}: DELETE needs url Type/id`);
      ops.push({ kind: 'delete', type, id });
      return;
    }
    const resource = entry.resource;
    if (!isResource(resource)) throw new Error(`entry ${i}: no resource`);
    const fullUrl = typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined;
    if (!isValidId(resource.id)) {
      const fromUrl = fullUrl?.startsWith('urn:uuid:') ? fullUrl.slice(9) : undefined;
      resource.id = fromUrl && isValidId(fromUrl) ? fromUrl : randomUUID();
    }
    if (fullUrl?.startsWith('urn:'))
      rewrites.set(fullUrl, `${resource.resourceType}/${resource.id as string}`);
    ops.push({ kind: 'pending', resource });
  });
  return ops.map((op) => {
    if (op.kind !== 'pending') return op;
    if (rewrites.size > 0) rewriteReferences(op.resource, rewrites);
    return { kind: 'put', resource: op.resource as FhirResource & { id: string } };
  });
}

function rewriteReferences(node: unknown, rewrites: Map<string, string>): void {
  if (Array.isArray(node)) {
    for (const item of node) rewriteReferences(item, rewrites);
  } else if (typeof node === 'object' && node !== null) {
    const obj = node as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const value = obj[key];
      if (key === 'reference' && typeof value === 'string') {
        const target = rewrites.get(value);
        if (target) obj[key] = target;
      } else if (typeof value === 'object') {
        rewriteReferences(value, rewrites);
      }
    }
  }
}
