import { ForbiddenError } from '../fhir/index.js';
import { EXPORTABLE_TYPES } from './exportable.js';
import type { ExportRequest } from './types.js';

/** What a client's grant lets it read; `src/auth`'s ScopeSet has this shape. */
export interface ReadAccess {
  /** True when the client may read and search every resource of `type`. */
  canRead(type: string): boolean;
  /** The types it may read by name, or `*` when it may read every type. */
  readableTypes(): readonly string[] | '*';
}

/** Who asks about a job: the token's client and what it may read; both absent when auth is off. */
export interface Caller {
  /** The client that owns the job; null when authorization is off (one anonymous client). */
  clientId: string | null;
  /** The token's grant; undefined when authorization is off. */
  access?: ReadAccess;
}

/**
 * Apply the client's scopes to a kick-off (Bulk IG "Privacy and Security"; SMART "Enforce
 * Authorization"): every `_type` and `_typeFilter` type must be readable, a Group export needs Group
 * read too, and without `_type` the export is narrowed to the readable types.
 * @param request - the parsed kick-off
 * @param access - the token's grant
 * @returns the request, with `types` set to the readable types when `_type` was absent
 * @throws ForbiddenError naming the types the scopes do not cover
 */
export function authorizeExport(request: ExportRequest, access: ReadAccess): ExportRequest {
  if (request.level === 'group' && !access.canRead('Group')) {
    throw new ForbiddenError('a Group export needs read access to Group (e.g. system/Group.rs)', {
      expression: 'Group',
    });
  }
  const named = [...(request.types ?? []), ...request.typeFilters.map((f) => f.split('?')[0] as string)];
  const denied = [...new Set(named)].filter((t) => !access.canRead(t));
  if (denied.length > 0) {
    throw new ForbiddenError(`the access token's scopes do not allow reading ${denied.join(', ')}`, {
      expression: request.types?.some((t) => denied.includes(t)) ? '_type' : '_typeFilter',
    });
  }
  if (request.includeAssociatedData.length > 0 && !access.canRead('Provenance')) {
    throw new ForbiddenError(
      'includeAssociatedData needs read access to Provenance, which the scopes do not allow',
      {
        expression: 'includeAssociatedData',
      },
    );
  }
  if (request.types !== undefined) return request;
  const readable = access.readableTypes();
  if (readable === '*') return request;
  // Narrowing stands in for an absent _type, so it must not add Group cohorts that a default
  // patient-level export leaves out (see exportTypes in planner.ts).
  const exportable = readable.filter((t) => EXPORTABLE_TYPES.has(t));
  const types = request.level === 'system' ? exportable : exportable.filter((t) => t !== 'Group');
  if (types.length === 0) throw new ForbiddenError("the access token's scopes allow reading no type");
  return { ...request, types };
}
