import { ASSERTION_ALGS } from './jwks.js';

/** Where the token endpoint is served, relative to the FHIR base URL. */
export const TOKEN_PATH = '/auth/token';

/**
 * The SMART configuration document (`[base]/.well-known/smart-configuration`, SMART 2.2
 * conformance.html "Metadata"), listing only what is implemented: backend services with asymmetric
 * client authentication, v1 and v2 scopes. Of the fields SMART marks REQUIRED, `code_challenge_methods_supported`
 * is the one a backend-only server has no use for: it is `["S256"]`, the only value SMART allows,
 * though no authorization endpoint exists to use PKCE with. The CONDITIONAL fields are left out, as
 * their conditions do not hold: `authorization_endpoint` (no `launch-ehr` or `launch-standalone`),
 * `issuer` and `jwks_uri` (no `sso-openid-connect`).
 * @param tokenUrl - the absolute token endpoint URL
 */
export function smartConfiguration(tokenUrl: string): Record<string, unknown> {
  return {
    token_endpoint: tokenUrl,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
    scopes_supported: ['system/*.rs', 'system/*.read', 'system/*.cruds', 'system/*.*'],
    capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
    code_challenge_methods_supported: ['S256'],
  };
}

/**
 * `CapabilityStatement.rest.security` announcing SMART with the token URL in the `oauth-uris` extension
 * (http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris).
 * @param tokenUrl - the absolute token endpoint URL
 */
export function capabilitySecurity(tokenUrl: string): Record<string, unknown> {
  return {
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [{ url: 'token', valueUri: tokenUrl }],
      },
    ],
    service: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
            code: 'SMART-on-FHIR',
          },
        ],
      },
    ],
    description: 'SMART Backend Services: client_credentials with a private_key_jwt (RS384 or ES384)',
  };
}
