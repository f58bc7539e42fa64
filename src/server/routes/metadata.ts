import { FHIR_JSON } from '../error-handler.js';
import type { RoutePlugin } from '../context.js';
import { refuseOtherMethods } from './method-not-allowed.js';

/**
 * `GET /metadata`: the CapabilityStatement (R4 http.html#capabilities), rendered once at startup.
 * @param capability - the statement as JSON text
 */
export function metadataRoutes(capability: string): RoutePlugin {
  return async (app) => {
    app.get('/metadata', async (_request, reply) => reply.type(FHIR_JSON).send(capability));
    refuseOtherMethods(app, '/metadata', ['GET']);
  };
}
