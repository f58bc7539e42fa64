import type { ViewExportInput, ViewExportResult, ViewExportStatus } from '../export/index.js';
import { InvalidRequestError, NotSupportedError, formatInstant, parseInstant } from '../fhir/index.js';
import { parseTableFormat } from '../tables/index.js';
import type { TableFormat } from '../tables/index.js';

// The wire shapes of `$viewdefinition-export` (SQL on FHIR v2 draft, digest §4), kept in this one
// module because the draft still changes: the kick-off body read here, and every Parameters answered.

/** The canonical URL of the operation (SQL on FHIR v2, master). */
export const VIEW_EXPORT_CANONICAL = 'http://sql-on-fhir.org/OperationDefinition/$viewdefinition-export';

/** Resolves a `viewReference` (`ViewDefinition/<id>` or a canonical `url|version`) to its ViewDefinition. */
export type ViewResolver = (reference: string) => Promise<object>;

/** One `view` parameter: an inline ViewDefinition or a reference to a stored one. */
export interface ViewSource {
  /** The part `name`, when given. */
  name?: string;
  resource?: unknown;
  reference?: string;
}

/**
 * A `$viewdefinition-export` kick-off body, read: the service's input with each view still as the
 * caller named it (resolved by the route) and no request URL yet.
 */
export type ViewExportKickoff = Omit<ViewExportInput, 'views' | 'requestUrl'> & { views: ViewSource[] };

interface Parameter {
  name?: unknown;
  resource?: unknown;
  part?: unknown;
  [value: `value${string}`]: unknown;
}

type Part = { name: string } & Record<string, unknown>;

const KNOWN = new Set(['view', '_format', 'header', 'patient', 'group', '_since', 'clientTrackingId']);
const ID = '[A-Za-z0-9\\-.]{1,64}';

const invalid = (message: string, expression: string): InvalidRequestError =>
  new InvalidRequestError(message, { expression });

function single(params: Parameter[], name: string): Parameter | undefined {
  const found = params.filter((p) => p.name === name);
  if (found.length > 1) throw invalid(`${name} may appear once`, name);
  return found[0];
}

function stringOf(p: Parameter, keys: string[], expression: string): string {
  for (const key of keys) {
    const value = p[key as `value${string}`];
    if (value !== undefined) {
      if (typeof value !== 'string' || value === '')
        throw invalid(`${expression} must be a string`, expression);
      return value;
    }
  }
  throw invalid(`${expression} needs a ${keys.join(' or ')}`, expression);
}

function referenceId(p: Parameter, type: 'Patient' | 'Group', expression: string): string {
  const ref = (p['valueReference'] as { reference?: unknown } | undefined)?.reference;
  const m = typeof ref === 'string' ? new RegExp(`^(?:.*/)?${type}/(${ID})$`).exec(ref) : null;
  if (!m) throw invalid(`${expression} must be a valueReference to ${type}/[id]`, expression);
  return m[1] as string;
}

function viewOf(p: Parameter, index: number): ViewSource {
  const at = `view[${index}]`;
  if (!Array.isArray(p.part)) throw invalid(`${at} needs parts: viewResource or viewReference`, at);
  const parts = p.part as Part[];
  const view: ViewSource = {};
  for (const part of parts) {
    const where = `${at}.${String(part?.name)}`;
    if (part?.name === 'name') view.name = stringOf(part, ['valueString'], `${at}.name`);
    else if (part?.name === 'viewResource') {
      if (typeof part.resource !== 'object' || part.resource === null)
        throw invalid(`${where} must hold the ViewDefinition as its resource`, where);
      if (view.resource !== undefined) throw invalid(`${where} may appear once`, where);
      view.resource = part.resource;
    } else if (part?.name === 'viewReference') {
      const ref = (part['valueReference'] as { reference?: unknown } | undefined)?.reference;
      const text = ref ?? part['valueCanonical'] ?? part['valueUri'] ?? part['valueString'];
      if (typeof text !== 'string' || text === '')
        throw invalid(`${where} must be a valueReference or a canonical URL`, where);
      if (view.reference !== undefined) throw invalid(`${where} may appear once`, where);
      view.reference = text;
    } else
      throw new NotSupportedError(`unknown part '${String(part?.name)}' of ${at}`, { expression: where });
  }
  if ((view.resource === undefined) === (view.reference === undefined)) {
    throw invalid(`${at} needs exactly one of viewResource and viewReference`, at);
  }
  return view;
}

/**
 * Read a `$viewdefinition-export` Parameters body.
 * @param now - epoch ms that `_since` must not be later than
 * @throws InvalidRequestError for a malformed body, NotSupportedError for `source` or an unknown parameter
 */
export function parseViewExport(body: unknown, now: number): ViewExportKickoff {
  const b = body as { resourceType?: unknown; parameter?: unknown } | undefined;
  if (b?.resourceType !== 'Parameters' || !Array.isArray(b.parameter)) {
    throw new InvalidRequestError('the body must be a Parameters resource');
  }
  const params = b.parameter as Parameter[];
  for (const p of params) {
    const name = String(p?.name);
    if (name === 'source')
      throw new NotSupportedError('external data sources are not supported', { expression: name });
    if (!KNOWN.has(name)) throw new NotSupportedError(`unknown parameter '${name}'`, { expression: name });
  }
  const views = params.filter((p) => p.name === 'view').map(viewOf);
  if (views.length === 0) throw invalid('at least one view is required', 'view');
  const format = single(params, '_format');
  const header = single(params, 'header')?.['valueBoolean'];
  if (header !== undefined && typeof header !== 'boolean')
    throw invalid('header must be a valueBoolean', 'header');
  const out: ViewExportKickoff = {
    views,
    format: format ? parseTableFormat(stringOf(format, ['valueCode', 'valueString'], '_format')) : 'ndjson',
    header: header !== false,
    patients: params.filter((p) => p.name === 'patient').map((p) => referenceId(p, 'Patient', 'patient')),
    groups: params.filter((p) => p.name === 'group').map((p) => referenceId(p, 'Group', 'group')),
  };
  const since = single(params, '_since');
  if (since) {
    const text = stringOf(since, ['valueInstant', 'valueDateTime', 'valueString'], '_since');
    out.since = parseInstant(text, '_since');
    if (out.since > now) throw invalid(`_since '${text}' is in the future`, '_since');
  }
  const tracking = single(params, 'clientTrackingId');
  if (tracking) out.clientTrackingId = stringOf(tracking, ['valueString', 'valueId'], 'clientTrackingId');
  return out;
}

/** A FHIR Parameters resource. */
export interface ParametersResource {
  resourceType: 'Parameters';
  parameter: Record<string, unknown>[];
}

const parameters = (parameter: Record<string, unknown>[]): ParametersResource => ({
  resourceType: 'Parameters',
  parameter,
});

/** The 202 body of an accepted kick-off; `cancelUrl` is the status URL (DELETE on it cancels). */
export function acceptedParameters(
  jobId: string,
  statusUrl: string,
  clientTrackingId?: string,
): ParametersResource {
  return parameters([
    { name: 'exportId', valueString: jobId },
    { name: 'status', valueCode: 'accepted' },
    { name: 'location', valueUri: statusUrl },
    ...(clientTrackingId !== undefined ? [{ name: 'clientTrackingId', valueString: clientTrackingId }] : []),
    { name: 'cancelUrl', valueUri: statusUrl },
  ]);
}

/** The body of a 202 poll: no `output` until the result URL answers. */
export function progressParameters(
  jobId: string,
  status: ViewExportStatus & { state: 'in-progress' },
): ParametersResource {
  const parameter: Record<string, unknown>[] = [
    { name: 'exportId', valueString: jobId },
    { name: 'status', valueCode: status.queued ? 'accepted' : 'in-progress' },
    { name: 'exportStartTime', valueInstant: formatInstant(status.startTime) },
  ];
  if (status.estimatedSecondsRemaining !== undefined)
    parameter.push({ name: 'estimatedTimeRemaining', valueInteger: status.estimatedSecondsRemaining });
  return parameters(parameter);
}

/** The 200 body of the result URL: times and, per view, one `output` with a `location` per file. */
export function resultParameters(result: ViewExportResult & { state: 'completed' }): ParametersResource {
  const seconds = Math.max(0, Math.round((result.endTime - result.startTime) / 1000));
  return parameters([
    { name: 'exportId', valueString: result.jobId },
    { name: 'status', valueCode: 'completed' },
    ...(result.clientTrackingId !== undefined
      ? [{ name: 'clientTrackingId', valueString: result.clientTrackingId }]
      : []),
    { name: '_format', valueCode: result.format },
    { name: 'exportStartTime', valueInstant: formatInstant(result.startTime) },
    { name: 'exportEndTime', valueInstant: formatInstant(result.endTime) },
    { name: 'exportDuration', valueInteger: seconds },
    ...result.outputs.map((o) => ({
      name: 'output',
      part: [
        { name: 'name', valueString: o.name },
        ...o.urls.map((url) => ({ name: 'location', valueUri: url })),
      ],
    })),
  ]);
}

const MEDIA: Record<TableFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv',
  parquet: 'application/vnd.apache.parquet',
  json: 'application/json',
};

/** The Content-Type of a downloaded file of this format. */
export function fileMediaType(format: TableFormat): string {
  return MEDIA[format];
}
