import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TOKEN_PATH } from '../auth/index.js';
import type { AccessTokenVerifier, Permission } from '../auth/index.js';
import { AuthenticationError, ForbiddenError } from '../fhir/index.js';
import { setGrant } from './request-grant.js';

/** Routes anyone may call: the base URL's pointer page, conformance, discovery and the token endpoint. */
const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  '/',
  '/metadata',
  '/.well-known/smart-configuration',
  TOKEN_PATH,
  '/OperationDefinition/:id',
]);

/**
 * The SMART permission each REST interaction needs on its resource type (SMART 2.2 scopes v2:
 * c=create, r=read, u=update, d=delete, s=search). Export routes check scopes in the export domain.
 */
const REST_PERMISSIONS: ReadonlyMap<string, Permission> = new Map([
  ['GET /:type', 's'],
  ['HEAD /:type', 's'],
  ['POST /:type/_search', 's'],
  ['GET /:type/:id', 'r'],
  ['HEAD /:type/:id', 'r'],
  ['GET /:type/:id/_history/:vid', 'r'],
  ['HEAD /:type/:id/_history/:vid', 'r'],
  ['POST /:type', 'c'],
  ['PUT /:type/:id', 'u'],
  ['DELETE /:type/:id', 'd'],
]);

/** The dashboard checks its own operator credential (dashboard-access.ts): a token or a password. */
const DASHBOARD_PREFIX = '/dashboard';

const BEARER_RE = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Require a valid bearer token (RFC 6750 §2.1) on every route but the public ones, attach its grant to
 * the request, and check the scope of REST interactions. Failures are AuthenticationError (401) and
 * ForbiddenError (403), rendered by the error handler.
 * @param app - the root instance, before any route is registered
 */
export function installBearerAuth(app: FastifyInstance, verifier: AccessTokenVerifier): void {
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (route !== undefined && (PUBLIC_ROUTES.has(route) || isDashboardRoute(route))) return;
    const grant = await verifier.verify(bearerToken(request));
    setGrant(request, grant);
    const perm = route === undefined ? undefined : REST_PERMISSIONS.get(`${request.method} ${route}`);
    const type = (request.params as { type?: string } | undefined)?.type;
    if (perm !== undefined && type !== undefined && !grant.scopes.allows(type, perm)) {
      throw new ForbiddenError(`the access token's scopes do not allow this interaction on ${type}`);
    }
  });
}

function isDashboardRoute(route: string): boolean {
  return route === DASHBOARD_PREFIX || route.startsWith(`${DASHBOARD_PREFIX}/`);
}

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (header === undefined || header === '') {
    throw new AuthenticationError('this endpoint needs an access token: send Authorization: Bearer <token>');
  }
  const m = BEARER_RE.exec(header);
  if (!m) throw new AuthenticationError('the Authorization header is not a Bearer token');
  return m[1] as string;
}
