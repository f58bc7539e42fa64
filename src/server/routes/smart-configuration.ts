import { smartConfiguration } from '../../auth/index.js';
import type { RoutePlugin } from '../context.js';
import { refuseOtherMethods } from './method-not-allowed.js';

const PATH = '/.well-known/smart-configuration';

/**
 * `GET [base]/.well-known/smart-configuration` (SMART 2.2 conformance.html): always application/json,
 * whatever the Accept header says, with absolute URLs.
 * @param tokenUrl - the absolute token endpoint URL (ours, or the external issuer's)
 */
export function smartConfigurationRoutes(tokenUrl: string): RoutePlugin {
  const body = JSON.stringify(smartConfiguration(tokenUrl));
  return async (app) => {
    app.get(PATH, async (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
    refuseOtherMethods(app, PATH, ['GET']);
  };
}
