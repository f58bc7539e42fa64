import type { FastifyReply } from 'fastify';
import { OAuthError, TOKEN_PATH } from '../../auth/index.js';
import type { OAuthErrorCode, TokenService } from '../../auth/index.js';
import type { RoutePlugin } from '../context.js';
import { refuseOtherMethods } from './method-not-allowed.js';

/** RFC 6749 §5.2 statuses; the issue (and RFC 6749) choose 401 for a client that failed to authenticate. */
const STATUS_BY_OAUTH_ERROR: Readonly<Record<OAuthErrorCode, number>> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
};

const JSON_TYPE = 'application/json; charset=utf-8';

function noStore(reply: FastifyReply): FastifyReply {
  // RFC 6749 §5.1: token responses, and their errors, must not be cached.
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').type(JSON_TYPE);
}

/**
 * `POST [base]/auth/token`: SMART Backend Services token endpoint
 * (https://hl7.org/fhir/smart-app-launch/backend-services.html#obtain-access-token).
 * Answers RFC 6749 JSON, never an OperationOutcome, for every OAuth error.
 */
export function authTokenRoutes(tokens: TokenService): RoutePlugin {
  return async (app) => {
    app.post(TOKEN_PATH, async (request, reply) => {
      const form = request.body instanceof URLSearchParams ? request.body : undefined;
      try {
        const response = await tokens.exchange(form);
        return noStore(reply).send(JSON.stringify(response));
      } catch (err) {
        if (!(err instanceof OAuthError)) throw err;
        request.log.info({ oauthError: err.error, reason: err.message }, 'token request refused');
        return noStore(reply)
          .code(STATUS_BY_OAUTH_ERROR[err.error])
          .send(JSON.stringify({ error: err.error, error_description: err.message }));
      }
    });
    refuseOtherMethods(app, TOKEN_PATH, ['POST']);
  };
}
