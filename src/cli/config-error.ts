/** A setting that fails validation at startup, naming the variable or flag. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
