import type { ScopeSet } from './scopes.js';

/** Who a verified access token acts for, and what it may do. */
export interface Grant {
  clientId: string;
  scopes: ScopeSet;
}

/** Checks a bearer access token; the HTTP layer calls it on every protected request. */
export interface AccessTokenVerifier {
  /**
   * Verify a bearer token.
   * @throws AuthenticationError (issue code `expired` for an expired token) when it is not valid
   */
  verify(token: string): Promise<Grant>;
}
