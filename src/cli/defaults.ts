/** Default database file, relative to the working directory. */
export const DEFAULT_DB = 'fhirhose.db';
/** Default port of `fhirhose serve`. */
export const DEFAULT_PORT = 8080;
