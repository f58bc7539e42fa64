import type { FastifyRequest } from 'fastify';
import { grantOf } from '../request-grant.js';

/** The client a request acts for: the authenticated client id, or null when authorization is off. */
export function clientIdOf(request: FastifyRequest): string | null {
  return grantOf(request)?.clientId ?? null;
}
