import type { FastifyInstance, HTTPMethods } from 'fastify';
import { MethodNotAllowedError } from '../../fhir/index.js';

// OPTIONS is left to CORS; HEAD comes with every GET route unless the route sets exposeHeadRoute: false.
const METHODS: HTTPMethods[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

/** Options of {@link refuseOtherMethods}. */
export interface RefuseOptions {
  /** The GET route has side effects and exposes no HEAD route: refuse HEAD as well. */
  refuseHead?: boolean;
}

/**
 * Answer every method but `allowed` on `url` with 405 and an Allow header, instead of fastify's 404.
 * @param allowed - the methods the path serves (HEAD is implied by GET unless `refuseHead`)
 */
export function refuseOtherMethods(
  app: FastifyInstance,
  url: string,
  allowed: readonly HTTPMethods[],
  options: RefuseOptions = {},
): void {
  const head = allowed.includes('GET') && options.refuseHead !== true;
  const refused = METHODS.filter((m) => !allowed.includes(m));
  if (options.refuseHead) refused.push('HEAD');
  if (refused.length === 0) return;
  const allow = [...allowed, ...(head ? ['HEAD'] : [])].join(', ');
  app.route({
    method: refused,
    url,
    handler: async (request, reply) => {
      reply.header('allow', allow);
      throw new MethodNotAllowedError(`${request.method} is not allowed here; use ${allow}`);
    },
  });
}
