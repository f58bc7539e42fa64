import { TOKEN_PATH } from '../../auth/index.js';
import type { TokenService } from '../../auth/index.js';
import type { RoutePlugin } from '../context.js';
import { sendOAuthError } from '../error-handler.js';
import { refuseOtherMethods } from './method-not-allowed.js';

/**
 * `POST [base]/auth/token`: SMART Backend Services token endpoint
 * (https://hl7.org/fhir/smart-app-launch/backend-services.html#obtain-access-token).
 * Every error, the body parser's included, is RFC 6749 JSON, never an OperationOutcome.
 */
export function authTokenRoutes(tokens: TokenService): RoutePlugin {
  return async (app) => {
    // A plugin of its own, so the error handler covers the 405 route and no other.
    app.setErrorHandler(sendOAuthError);
    app.post(TOKEN_PATH, async (request, reply) => {
      const form = request.body instanceof URLSearchParams ? request.body : undefined;
      const response = await tokens.exchange(form);
      // RFC 6749 §5.1: token responses must not be cached.
      return reply
        .header('cache-control', 'no-store')
        .header('pragma', 'no-cache')
        .type('application/json; charset=utf-8')
        .send(JSON.stringify(response));
    });
    refuseOtherMethods(app, TOKEN_PATH, ['POST']);
  };
}
