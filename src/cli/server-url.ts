import { ConfigError } from './config-error.js';

/**
 * The FHIR base URL a client command was given, checked: an absolute http(s) URL. A bare host gets
 * a message with the URL the user probably meant, instead of the runtime's "Invalid URL".
 * @throws ConfigError when `arg` is not an absolute http or https URL
 */
export function serverUrl(arg: string): string {
  let url: URL | undefined;
  try {
    url = new URL(arg);
  } catch {
    url = undefined;
  }
  if (url && (url.protocol === 'http:' || url.protocol === 'https:')) return arg;
  const guess = /^[a-z][a-z0-9+.-]*:\/\//i.test(arg) ? '' : ` (did you mean https://${arg}?)`;
  throw new ConfigError(`'${arg}' is not a FHIR base URL: give an absolute http:// or https:// URL${guess}`);
}
