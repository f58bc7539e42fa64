import type { FastifyRequest } from 'fastify';
import type { Caller } from '../../export/index.js';
import { grantOf } from '../request-grant.js';

/** The client a request acts for: the authenticated client id, or null when authorization is off. */
export function clientIdOf(request: FastifyRequest): string | null {
  return grantOf(request)?.clientId ?? null;
}

/** Who a request asks as: its token's client and scopes, or the anonymous client when auth is off. */
export function callerOf(request: FastifyRequest): Caller {
  const grant = grantOf(request);
  return grant ? { clientId: grant.clientId, access: grant.scopes } : { clientId: null };
}
