import { randomUUID } from 'node:crypto';
import type { FhirResource } from '../fhir/index.js';
import {
  FhirhoseError,
  InvalidRequestError,
  checkResource,
  isResourceType,
  isValidId,
} from '../fhir/index.js';

/** One operation a Bundle entry asks for. */
export type BundleOp =
  { kind: 'put'; resource: FhirResource & { id: string } } | { kind: 'delete'; type: string; id: string };

/** What a Bundle asks for: the operations of its good entries, and why each other entry is bad. */
export interface BundlePlan {
  ops: BundleOp[];
  /** `entry` is the 0-based index in `Bundle.entry`. */
  problems: { entry: number; reason: string }[];
  /** Entries in the Bundle. */
  entries: number;
}

const READABLE_TYPES = new Set(['transaction', 'batch', 'collection', 'searchset', 'history']);

/**
 * Turn a Bundle into store operations, entry by entry: a resource must pass `checkResource` (as a REST
 * create would; an invalid or missing id is taken from a `urn:uuid:` fullUrl or assigned), and a
 * DELETE needs `request.url` `Type/id`. `urn:uuid:` fullUrls of good entries become `Type/id` and every
 * reference to them is rewritten (https://hl7.org/fhir/R4/bundle.html#references). The caller decides
 * what bad entries mean: a transaction is all-or-nothing (R4 http.html#transaction).
 * @throws InvalidRequestError when the Bundle's type cannot be loaded
 */
export function bundleOperations(bundle: FhirResource): BundlePlan {
  if (typeof bundle.type !== 'string' || !READABLE_TYPES.has(bundle.type)) {
    throw new InvalidRequestError(`Bundle.type '${String(bundle.type)}' cannot be loaded`, {
      expression: 'Bundle.type',
    });
  }
  const entries: unknown[] = Array.isArray(bundle.entry) ? (bundle.entry as unknown[]) : [];
  const rewrites = new Map<string, string>();
  const ops: (BundleOp | { kind: 'pending'; resource: FhirResource })[] = [];
  const problems: BundlePlan['problems'] = [];
  entries.forEach((entry, i) => {
    try {
      const op = entryOperation(entry);
      if (op.kind === 'pending' && op.fullUrl?.startsWith('urn:')) {
        rewrites.set(op.fullUrl, `${op.resource.resourceType}/${op.resource.id as string}`);
      }
      ops.push(op);
    } catch (err) {
      if (!(err instanceof FhirhoseError)) throw err;
      problems.push({ entry: i, reason: err.message });
    }
  });
  return {
    entries: entries.length,
    problems,
    ops: ops.map((op) => {
      if (op.kind !== 'pending') return op;
      // Safe to recurse: checkResource bounded the depth.
      if (rewrites.size > 0) rewriteReferences(op.resource, rewrites);
      return { kind: 'put', resource: op.resource as FhirResource & { id: string } };
    }),
  };
}

type EntryOperation =
  | { kind: 'delete'; type: string; id: string }
  | { kind: 'pending'; resource: FhirResource; fullUrl: string | undefined };

/**
 * What one entry asks for.
 * @throws InvalidRequestError, NestingTooDeepError, UnprocessableResourceError for a bad entry
 */
function entryOperation(entry: unknown): EntryOperation {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new InvalidRequestError('the entry is not a JSON object', { expression: 'Bundle.entry' });
  }
  const { request, resource, fullUrl: url } = entry as Record<string, unknown>;
  const { method, url: target } = (typeof request === 'object' && request !== null ? request : {}) as {
    method?: unknown;
    url?: unknown;
  };
  if (method === 'DELETE') {
    const [type, id, ...rest] = String(target ?? '').split('/');
    if (!isResourceType(type) || !isValidId(id) || rest.length > 0) {
      throw new InvalidRequestError('a DELETE entry needs request.url Type/id', {
        expression: 'Bundle.entry.request.url',
      });
    }
    return { kind: 'delete', type, id };
  }
  if (resource === undefined) {
    throw new InvalidRequestError('the entry has no resource', { expression: 'Bundle.entry.resource' });
  }
  const checked = checkResource(resource, { id: 'ignored' });
  const fullUrl = typeof url === 'string' ? url : undefined;
  if (!isValidId(checked.id)) {
    const fromUrl = fullUrl?.startsWith('urn:uuid:') ? fullUrl.slice(9) : undefined;
    checked.id = fromUrl && isValidId(fromUrl) ? fromUrl : randomUUID();
  }
  return { kind: 'pending', resource: checked, fullUrl };
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
