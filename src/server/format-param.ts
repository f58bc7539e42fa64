import type { FastifyRequest } from 'fastify';
import { NotSupportedError } from '../fhir/index.js';

// R4 http.html#mime-type: `_format` may name json or a JSON media type; fhirhose speaks JSON only.
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json']);

/**
 * Check a `_format` value.
 * @throws NotSupportedError for anything but JSON (xml, turtle...).
 */
export function checkFormat(value: string): void {
  const base = value.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!JSON_FORMATS.has(base)) {
    throw new NotSupportedError(`_format '${value}' is not supported: fhirhose answers JSON only`, {
      expression: '_format',
    });
  }
}

/** preHandler hook applying {@link checkFormat} to every `_format` in the query string, but on view runs. */
export async function formatParamCheck(request: FastifyRequest): Promise<void> {
  // `$viewdefinition-run` answers rows, not resources: its `_format` names a table format (csv, parquet).
  if (request.routeOptions.url?.endsWith('/$viewdefinition-run') === true) return;
  const value = (request.query as Record<string, unknown> | undefined)?._format;
  if (value === undefined) return;
  for (const v of Array.isArray(value) ? value : [value]) checkFormat(String(v));
}
