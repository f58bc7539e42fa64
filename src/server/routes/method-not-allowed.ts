import type { FastifyInstance, HTTPMethods } from 'fastify';
import { MethodNotAllowedError } from '../../fhir/index.js';

// HEAD comes with every GET route unless the route sets exposeHeadRoute: false. TRACE is refused: it
// would echo the request, Authorization header included (RFC 9110 §9.3.8).
const METHODS: HTTPMethods[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'TRACE'];

/** Options of {@link refuseOtherMethods}. */
export interface RefuseOptions {
  /** The GET route has side effects and exposes no HEAD route: refuse HEAD as well. */
  refuseHead?: boolean;
}

/**
 * Answer every method but `allowed` on `url` with 405 and an Allow header, instead of fastify's 404,
 * and OPTIONS with 204 and the same Allow header (RFC 9110 §9.3.7).
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
  const allow = [...allowed, ...(head ? ['HEAD'] : [])].join(', ');
  app.options(url, async (_request, reply) => reply.code(204).header('allow', allow).send());
  if (refused.length === 0) return;
  app.route({
    method: refused,
    url,
    handler: async (request, reply) => {
      reply.header('allow', allow);
      throw new MethodNotAllowedError(`${request.method} is not allowed here; use ${allow}`);
    },
  });
}
