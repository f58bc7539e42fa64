import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ADMIN_SCOPE } from '../auth/index.js';
import type { AccessTokenVerifier } from '../auth/index.js';
import { AuthenticationError, ForbiddenError } from '../fhir/index.js';

/** How operators get into the dashboard (docs/dashboard.md "Access"). */
export interface DashboardAccess {
  /**
   * No credential needed: the server listens on loopback only and authorization is off (the demo).
   * Requests must then name a loopback Host, so a web page elsewhere cannot reach it by DNS rebinding.
   */
  open: boolean;
  /** FHIRHOSE_DASHBOARD_PASSWORD: HTTP Basic with any user name and this password. */
  password?: string;
  /** Authorization is on: a bearer token carrying {@link ADMIN_SCOPE} opens the dashboard. */
  verifier?: AccessTokenVerifier;
}

const LOOPBACK_HOST_RE = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i;
const SCHEME_RE = /^(Basic|Bearer) +(\S+) *$/i;

/** True when some way in exists; otherwise the dashboard is not served at all. */
export function dashboardEnabled(access: DashboardAccess): boolean {
  return access.open || access.password !== undefined || access.verifier !== undefined;
}

/**
 * Who the operator of a dashboard request is, for the log of what they do.
 * @throws AuthenticationError when no accepted credential is sent
 * @throws ForbiddenError for a valid token without the admin scope, or a foreign Host on an open dashboard
 */
export async function dashboardOperator(request: FastifyRequest, access: DashboardAccess): Promise<string> {
  if (access.open) {
    if (!LOOPBACK_HOST_RE.test(request.headers.host ?? '')) {
      throw new ForbiddenError('the open dashboard answers loopback host names only');
    }
    return 'local';
  }
  const m = SCHEME_RE.exec(request.headers.authorization ?? '');
  if (!m) {
    throw new AuthenticationError(
      `the dashboard needs an operator credential: a bearer token with scope ${ADMIN_SCOPE}, or the dashboard password`,
    );
  }
  const [, scheme, value] = m as unknown as [string, string, string];
  if (scheme.toLowerCase() === 'basic') {
    if (access.password !== undefined && passwordMatches(value, access.password)) return 'password';
    throw new AuthenticationError('the dashboard password is not right');
  }
  if (!access.verifier)
    throw new AuthenticationError('this server issues no tokens: use the dashboard password');
  const grant = await access.verifier.verify(value);
  if (!grant.scopes.admin) throw new ForbiddenError(`the dashboard needs a token with scope ${ADMIN_SCOPE}`);
  return `client ${grant.clientId}`;
}

/** Compares in constant time: both sides are hashed first, so their lengths leak nothing either. */
function passwordMatches(basic: string, password: string): boolean {
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const given = colon < 0 ? decoded : decoded.slice(colon + 1);
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(password));
}
