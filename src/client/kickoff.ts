import { BulkClientError } from './errors.js';
import { header } from './http.js';
import type { HttpSession } from './http.js';

/** Which `$export` endpoint the kick-off calls (https://hl7.org/fhir/uv/bulkdata/export.html#endpoint). */
export type KickoffLevel = 'system' | 'patient' | 'group';

/** The kick-off parameters (IG §3.3). Lists are sent comma-joined by GET and one per entry by POST. */
export interface ExportParameters {
  type?: string[];
  since?: string;
  until?: string;
  /** One search query per value, e.g. `Observation?category=laboratory`; values for one type are OR'd. */
  typeFilter?: string[];
  elements?: string[];
  /** Patient ids or `Patient/id` references; only a POST can carry them. */
  patient?: string[];
  includeAssociatedData?: string[];
  organizeOutputBy?: string;
  outputFormat?: string;
  allowPartialManifests?: boolean;
}

/** One export to start: what the client sends to the kick-off endpoint (the server's parsed form is export/ExportRequest). */
export interface KickoffRequest {
  level: KickoffLevel;
  /** Required for the group level. */
  groupId?: string;
  params: ExportParameters;
  /** GET unless POST is asked for, or `patient` is given (IG: POST only). */
  method?: 'GET' | 'POST';
  /** Send `Prefer: handling=lenient`. */
  lenient?: boolean;
}

/** A request ready to send. */
export interface KickoffCall {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

function operationUrl(baseUrl: string, request: KickoffRequest): string {
  const base = baseUrl.replace(/\/+$/, '');
  if (request.level === 'system') return `${base}/$export`;
  if (request.level === 'patient') return `${base}/Patient/$export`;
  if (!request.groupId) throw new TypeError('a group-level export needs a groupId');
  return `${base}/Group/${encodeURIComponent(request.groupId)}/$export`;
}

function patientReference(value: string): string {
  return value.includes('/') ? value : `Patient/${value}`;
}

/** The kick-off parameters as `Parameters.parameter` entries (value types from the OperationDefinitions). */
export function parametersBody(params: ExportParameters): {
  resourceType: 'Parameters';
  parameter: object[];
} {
  const parameter: object[] = [];
  const strings = (name: string, values: string[] | undefined): void => {
    for (const v of values ?? []) parameter.push({ name, valueString: v });
  };
  if (params.outputFormat) parameter.push({ name: '_outputFormat', valueString: params.outputFormat });
  if (params.since) parameter.push({ name: '_since', valueInstant: params.since });
  if (params.until) parameter.push({ name: '_until', valueInstant: params.until });
  strings('_type', params.type);
  strings('_elements', params.elements);
  strings('_typeFilter', params.typeFilter);
  for (const p of params.patient ?? [])
    parameter.push({ name: 'patient', valueReference: { reference: patientReference(p) } });
  for (const c of params.includeAssociatedData ?? [])
    parameter.push({ name: 'includeAssociatedData', valueCode: c });
  if (params.organizeOutputBy)
    parameter.push({ name: 'organizeOutputBy', valueString: params.organizeOutputBy });
  if (params.allowPartialManifests !== undefined)
    parameter.push({ name: 'allowPartialManifests', valueBoolean: params.allowPartialManifests });
  return { resourceType: 'Parameters', parameter };
}

/** The kick-off parameters as a query string (without `?`). `_typeFilter` is repeated, one query each (v3). */
export function queryString(params: ExportParameters): string {
  const q = new URLSearchParams();
  const list = (name: string, values: string[] | undefined): void => {
    if (values && values.length > 0) q.append(name, values.join(','));
  };
  if (params.outputFormat) q.append('_outputFormat', params.outputFormat);
  if (params.since) q.append('_since', params.since);
  if (params.until) q.append('_until', params.until);
  list('_type', params.type);
  list('_elements', params.elements);
  for (const f of params.typeFilter ?? []) q.append('_typeFilter', f);
  list('includeAssociatedData', params.includeAssociatedData);
  if (params.organizeOutputBy) q.append('organizeOutputBy', params.organizeOutputBy);
  if (params.allowPartialManifests !== undefined)
    q.append('allowPartialManifests', String(params.allowPartialManifests));
  return q.toString();
}

/** Build the kick-off request (IG §3): headers, GET query or POST Parameters body. */
export function buildKickoff(baseUrl: string, request: KickoffRequest): KickoffCall {
  const url = operationUrl(baseUrl, request);
  const method = request.method ?? (request.params.patient?.length ? 'POST' : 'GET');
  if (method === 'GET' && request.params.patient?.length) {
    throw new TypeError('the patient parameter needs a POST kick-off');
  }
  const headers: Record<string, string> = {
    accept: 'application/fhir+json',
    prefer: request.lenient ? 'respond-async, handling=lenient' : 'respond-async',
  };
  if (method === 'POST') {
    headers['content-type'] = 'application/fhir+json';
    return { url, method, headers, body: JSON.stringify(parametersBody(request.params)) };
  }
  const query = queryString(request.params);
  return { url: query ? `${url}?${query}` : url, method, headers };
}

/**
 * Kick off an export and return the absolute status URL from Content-Location. 429 and 503 answers are
 * retried after their Retry-After; a lost request is not, since the server may have started the job.
 * @throws BulkClientError when the server refuses (its OperationOutcome is on the error).
 */
export async function kickoff(
  http: HttpSession,
  baseUrl: string,
  request: KickoffRequest,
  signal?: AbortSignal,
): Promise<string> {
  const call = buildKickoff(baseUrl, request);
  const res = await http.send({
    ...call,
    authorize: true,
    retry: 'status',
    accept: (s) => s === 202,
    ...(signal ? { signal } : {}),
  });
  await res.body.dump();
  const location = header(res, 'content-location');
  if (!location) {
    throw new BulkClientError(`kick-off at ${call.url} answered 202 without Content-Location`, {
      status: 202,
      url: call.url,
    });
  }
  return new URL(location, res.url).href;
}
