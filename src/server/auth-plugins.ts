import type { Auth } from '../auth/index.js';
import { capabilitySecurity } from '../auth/index.js';
import type { CapabilityOptions } from './capability.js';
import type { RoutePlugin } from './context.js';
import { authTokenRoutes } from './routes/auth-token.js';
import { smartConfigurationRoutes } from './routes/smart-configuration.js';

/** SMART discovery, plus our token endpoint unless an external issuer hands out the tokens. */
export function authPlugins(auth: Auth): RoutePlugin[] {
  const plugins = [smartConfigurationRoutes(auth.tokenUrl)];
  if (auth.tokens) plugins.push(authTokenRoutes(auth.tokens));
  return plugins;
}

/** CapabilityStatement `rest.security` with the token URL (SMART oauth-uris extension). */
export function authCapability(auth: Auth): Pick<CapabilityOptions, 'security'> {
  return { security: capabilitySecurity(auth.tokenUrl) };
}
