import type { AuthStore } from '../store/index.js';
import { LocalAccessTokens } from './access-tokens.js';
import { ClientRegistry } from './client-registry.js';
import { TOKEN_PATH } from './discovery.js';
import { ExternalIssuerTokens } from './external-issuer.js';
import type { AccessTokenVerifier } from './grant.js';
import { JwksCache } from './jwks-cache.js';
import type { JwksCacheOptions } from './jwks-cache.js';
import { ServerKeys } from './server-keys.js';
import { TokenService } from './token-service.js';

/** An external authorization server trusted instead of our own token endpoint. */
export interface ExternalIssuerConfig {
  issuer: string;
  jwksUrl: string;
  /** Its token endpoint, advertised in discovery. */
  tokenUrl: string;
  /** Expected `aud`; defaults to the FHIR base URL. */
  audience?: string;
}

/** Authorization settings (documented in docs/config.md). */
export interface AuthConfig {
  enabled: boolean;
  /** Lifetime of the access tokens we issue; SMART recommends at most 300. */
  tokenLifetimeSeconds: number;
  /** Clock skew tolerated on assertion and token times. */
  clockSkewSeconds: number;
  external?: ExternalIssuerConfig;
}

/** Defaults: on, 5-minute tokens, 60 s of skew. */
export const DEFAULT_AUTH_CONFIG: Readonly<AuthConfig> = Object.freeze({
  enabled: true,
  tokenLifetimeSeconds: 300,
  clockSkewSeconds: 60,
});

/** The assembled authorization parts. `tokens` is absent when an external issuer is trusted. */
export interface Auth {
  verifier: AccessTokenVerifier;
  tokens?: TokenService;
  /** The absolute token endpoint URL, for discovery and the CapabilityStatement. */
  tokenUrl: string;
  registry: ClientRegistry;
  keys?: ServerKeys;
}

/** Dependencies of {@link createAuth}. */
export interface AuthDeps {
  store: AuthStore;
  /** The FHIR base URL, without a trailing slash. */
  baseUrl: string;
  now?: () => number;
  jwks?: Omit<JwksCacheOptions, 'now'>;
}

/**
 * Assemble the client registry, JWKS cache, server keys, token service and token verifier.
 * @param config - validated settings; `enabled` is the caller's business (this builds the parts)
 */
export function createAuth(config: AuthConfig, deps: AuthDeps): Auth {
  const now = deps.now ?? Date.now;
  const jwks = new JwksCache({ ...deps.jwks, now });
  const registry = new ClientRegistry(deps.store, now);
  if (config.external) {
    const ext = config.external;
    const verifier = new ExternalIssuerTokens({
      issuer: ext.issuer,
      jwksUrl: ext.jwksUrl,
      audience: ext.audience ?? deps.baseUrl,
      jwks,
      now,
      skewSeconds: config.clockSkewSeconds,
    });
    return { verifier, tokenUrl: ext.tokenUrl, registry };
  }
  const tokenUrl = deps.baseUrl + TOKEN_PATH;
  const keys = new ServerKeys(deps.store, {
    now,
    maxTokenLifetimeMs: (config.tokenLifetimeSeconds + config.clockSkewSeconds) * 1000,
  });
  const verifier = new LocalAccessTokens({
    keys,
    issuer: deps.baseUrl,
    lifetimeSeconds: config.tokenLifetimeSeconds,
    now,
    isClientActive: async (id) => (await deps.store.getClient(id)) !== undefined,
  });
  const tokens = new TokenService({
    registry,
    jwks,
    replay: deps.store,
    tokenUrl,
    now,
    skewSeconds: config.clockSkewSeconds,
    tokens: verifier,
  });
  return { verifier, tokens, tokenUrl, registry, keys };
}
