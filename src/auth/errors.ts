/** RFC 6749 §5.2 error codes the token endpoint answers with. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope';

/**
 * A token request refused per RFC 6749 §5.2. The HTTP layer renders it as `{error, error_description}`
 * with `Cache-Control: no-store`; `error` picks the status (`invalid_client` 401, the rest 400).
 * It is not a FhirhoseError: token responses are OAuth JSON, never OperationOutcomes.
 */
export class OAuthError extends Error {
  static code = 'FHIRHOSE_ERR_OAUTH';
  readonly code = OAuthError.code;
  /** The RFC 6749 `error` value. */
  readonly error: OAuthErrorCode;

  constructor(error: OAuthErrorCode, description: string, options: { cause?: unknown } = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.error = error;
  }
}
