import type { FastifyRequest } from 'fastify';

/** The client a request acts for: the authenticated client id, or null when authorization is off. */
export function clientIdOf(request: FastifyRequest): string | null {
  return (request as FastifyRequest & { clientId?: string }).clientId ?? null;
}
