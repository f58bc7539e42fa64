import type { LocalAccessTokens } from './access-tokens.js';
import type { AssertionDeps } from './client-assertion.js';
import { verifyClientAssertion } from './client-assertion.js';
import { OAuthError } from './errors.js';
import { ADMIN_SCOPE, ScopeSet, intersectScope, parseScope, formatScope } from './scopes.js';
import type { SystemScope } from './scopes.js';

/** A successful token response (RFC 6749 §5.1, SMART 2.2 backend services). */
export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  /** Seconds, as a JSON number. */
  expires_in: number;
  scope: string;
}

/** What the token service needs. */
export interface TokenServiceDeps extends AssertionDeps {
  tokens: LocalAccessTokens;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const FORM_PARAMS = ['grant_type', 'scope', 'client_assertion_type', 'client_assertion', 'client_id'];

/**
 * The token endpoint's logic: `client_credentials` with a `private_key_jwt` assertion
 * (https://hl7.org/fhir/smart-app-launch/backend-services.html#obtain-access-token).
 */
export class TokenService {
  constructor(private readonly deps: TokenServiceDeps) {}

  /**
   * Exchange a token request form for an access token.
   * @param form - the form body; undefined when the request had none
   * @throws OAuthError `invalid_request`, `unsupported_grant_type`, `invalid_client` or `invalid_scope`
   */
  async exchange(form: URLSearchParams | undefined): Promise<TokenResponse> {
    if (!form) {
      throw new OAuthError('invalid_request', 'send the token request as application/x-www-form-urlencoded');
    }
    // RFC 6749 §3.2: request parameters MUST NOT be included more than once.
    for (const name of FORM_PARAMS) {
      if (form.getAll(name).length > 1) throw new OAuthError('invalid_request', `${name} is repeated`);
    }
    const grantType = form.get('grant_type');
    if (!grantType) throw new OAuthError('invalid_request', 'grant_type is missing');
    if (grantType !== 'client_credentials') {
      throw new OAuthError('unsupported_grant_type', `grant_type must be client_credentials`);
    }
    if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
      throw new OAuthError('invalid_request', `client_assertion_type must be ${ASSERTION_TYPE}`);
    }
    const assertion = form.get('client_assertion');
    if (!assertion) throw new OAuthError('invalid_request', 'client_assertion is missing');
    const client = await verifyClientAssertion(assertion, this.deps);
    const clientId = form.get('client_id');
    if (clientId !== null && clientId !== client.id) {
      throw new OAuthError('invalid_client', 'client_id does not match the client_assertion iss');
    }
    const scope = grantScopes(form.get('scope') ?? '', ScopeSet.parse(client.scope));
    const { accessToken, expiresIn } = await this.deps.tokens.issue(client.id, scope);
    return { access_token: accessToken, token_type: 'bearer', expires_in: expiresIn, scope };
  }
}

/**
 * The scope to grant: each requested system scope narrowed to what the client was pre-authorized for,
 * in the syntax it was asked in (SMART 2.2: the server "SHALL ensure that the requested scope is within
 * the pre-authorized scope"; the granted scope may be narrower). Non-system scopes are not granted; the
 * operator scope is granted only to a client registered with it.
 * @throws OAuthError `invalid_scope` when no scope is asked for, a system scope is malformed or
 * granular, or nothing requested can be granted
 */
export function grantScopes(requested: string, registered: ScopeSet): string {
  const tokens = requested.split(' ').filter((s) => s !== '');
  if (tokens.length === 0) throw new OAuthError('invalid_scope', 'scope is required, e.g. system/*.rs');
  const parts: SystemScope[] = [];
  let admin = false;
  for (const token of tokens) {
    const parsed = parseScope(token);
    if (parsed.kind === 'invalid') throw new OAuthError('invalid_scope', parsed.reason);
    if (parsed.kind === 'admin') admin ||= registered.admin;
    if (parsed.kind !== 'system') continue;
    for (const allowed of registered.scopes) {
      const part = intersectScope(parsed.scope, allowed);
      if (part) parts.push(part);
    }
  }
  const granted = new Set(parts.filter((p) => !parts.some((q) => covers(q, p))).map(formatScope));
  if (admin) granted.add(ADMIN_SCOPE);
  if (granted.size === 0) {
    throw new OAuthError('invalid_scope', `none of the requested scopes is granted to this client`);
  }
  return [...granted].join(' ');
}

/** True when wildcard scope `q` already grants everything the per-type scope `p` does. */
function covers(q: SystemScope, p: SystemScope): boolean {
  return q.type === '*' && p.type !== '*' && [...p.perms].every((c) => q.perms.includes(c));
}
