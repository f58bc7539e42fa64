import type { FastifyRequest } from 'fastify';
import type { Grant } from '../auth/index.js';

const grants = new WeakMap<FastifyRequest, Grant>();

/** Attach the verified token's grant to a request (the bearer-auth hook does this). */
export function setGrant(request: FastifyRequest, grant: Grant): void {
  grants.set(request, grant);
}

/** The grant of a request's access token, or undefined when authorization is off. */
export function grantOf(request: FastifyRequest): Grant | undefined {
  return grants.get(request);
}
