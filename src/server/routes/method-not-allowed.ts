import type { FastifyInstance, HTTPMethods } from 'fastify';
import { MethodNotAllowedError } from '../../fhir/index.js';

// OPTIONS is left to CORS; HEAD comes with every GET route.
const METHODS: HTTPMethods[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

/**
 * Answer every method but `allowed` on `url` with 405 and an Allow header, instead of fastify's 404.
 * @param allowed - the methods the path serves (HEAD is implied by GET)
 */
export function refuseOtherMethods(app: FastifyInstance, url: string, allowed: readonly HTTPMethods[]): void {
  const refused = METHODS.filter((m) => !allowed.includes(m));
  if (refused.length === 0) return;
  const allow = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])].join(', ');
  app.route({
    method: refused,
    url,
    handler: async (request, reply) => {
      reply.header('allow', allow);
      throw new MethodNotAllowedError(`${request.method} is not allowed here; use ${allow}`);
    },
  });
}
