import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SearchPage } from '../../store/index.js';
import { formBody } from '../body-parsers.js';
import { renderSearchBundle } from '../bundle.js';
import type { RouteContext, RoutePlugin } from '../context.js';
import { FHIR_JSON } from '../error-handler.js';
import { parsePrefer } from '../http-headers.js';
import { refuseOtherMethods } from './method-not-allowed.js';
import { knownType } from './path-params.js';
import type { TypeParams } from './path-params.js';
import { parseSearch } from './search-params.js';
import type { SearchPair } from './search-params.js';

/** Type-level search (R4 http.html#search): `GET /:type` and `POST /:type/_search` with a form body. */
export const searchRoutes: RoutePlugin = async (app, context) => {
  app.get<{ Params: TypeParams }>('/:type', async (request, reply) =>
    search(request, reply, context, queryPairs(request.url)),
  );
  app.post<{ Params: TypeParams }>('/:type/_search', async (request, reply) => {
    const pairs = [...queryPairs(request.url), ...formBody(request.body).entries()];
    return search(request, reply, context, pairs);
  });
  refuseOtherMethods(app, '/:type/_search', ['POST']);
};

async function search(
  request: FastifyRequest<{ Params: TypeParams }>,
  reply: FastifyReply,
  { store, baseUrl }: RouteContext,
  pairs: SearchPair[],
): Promise<FastifyReply> {
  const type = knownType(request.params.type);
  const lenient = parsePrefer(request.headers.prefer).handling === 'lenient';
  const parsed = parseSearch(pairs, { type, baseUrl, lenient });
  const { query } = parsed;
  const none: SearchPage = query.total ? { resources: [], total: 0 } : { resources: [] };
  const page = parsed.matchable ? await store.search(query) : none;
  const bundle = renderSearchBundle({ baseUrl, type, params: parsed.params, cursor: query.cursor, page });
  return reply.type(FHIR_JSON).send(bundle);
}

/** The query string as ordered pairs: the self link keeps the client's order. */
function queryPairs(url: string): SearchPair[] {
  const at = url.indexOf('?');
  return at < 0 ? [] : [...new URLSearchParams(url.slice(at + 1)).entries()];
}
