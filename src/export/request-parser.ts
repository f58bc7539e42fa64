import {
  InvalidRequestError,
  NotSupportedError,
  PATIENT_COMPARTMENT_TYPES,
  RESOURCE_TYPES,
  SUPPORTING_TYPES,
  compileTypeFilters,
  isResourceType,
  parseElements,
  parseInstant,
  parseReference,
  partitionTypeFilters,
} from '../fhir/index.js';
import type { FhirhoseError } from '../fhir/index.js';
import { DEFAULT_KICKOFF_LIMITS, checkKickoffLimits } from './limits.js';
import type { KickoffLimits } from './limits.js';
import { readParametersBody } from './parameters-body.js';
import { parsePrefer } from './prefer.js';
import type { ExportLevel, ExportRequest, ExportWarning, KickoffInput } from './types.js';

// Kick-off parameters of the Bulk Data IG: https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters.
// docs/export-parameters.md lists what each parameter accepts and what lenient handling changes.

/** Options for parseKickoff. */
export interface KickoffOptions {
  /** Resource types this server exports (a subset of the R4 types). */
  exportableTypes: ReadonlySet<string>;
  /** Epoch ms to compare `_since` with and to resolve `_typeFilter` `ap` dates; defaults to Date.now(). */
  now?: number;
  /** Bounds on the request's size; defaults to DEFAULT_KICKOFF_LIMITS. */
  limits?: KickoffLimits;
}

interface ParseContext {
  level: ExportLevel;
  lenient: boolean;
  warnings: ExportWarning[];
}

type Params = Map<string, string[]>;

const KNOWN_PARAMS: ReadonlySet<string> = new Set([
  '_outputFormat',
  '_since',
  '_until',
  '_type',
  '_elements',
  '_typeFilter',
  'patient',
  'includeAssociatedData',
  'organizeOutputBy',
  'allowPartialManifests',
]);
// FHIR's general parameters (R4 http.html#parameters) that only shape the response, which is always JSON.
const IGNORED_PARAMS: ReadonlySet<string> = new Set(['_format', '_pretty']);
const SINGLE_PARAMS = ['_outputFormat', '_since', '_until', 'organizeOutputBy', 'allowPartialManifests'];
// `application/fhir ndjson` is `application/fhir+ndjson` from a client that did not percent-encode `+`.
const NDJSON_FORMATS: ReadonlySet<string> = new Set([
  'application/fhir+ndjson',
  'application/ndjson',
  'ndjson',
  'application/fhir ndjson',
]);
const PROVENANCE_VALUES: ReadonlySet<string> = new Set([
  'LatestProvenanceResources',
  'RelevantProvenanceResources',
]);

/**
 * Validates a Bulk Data kick-off request (system, Patient or Group `$export`) into an ExportRequest.
 * GET reads the query; POST reads a FHIR Parameters body, and query parameters sent with a POST are
 * merged in as if repeated. Under `Prefer: handling=lenient`, unknown parameters and unsupported
 * values are dropped with one warning each instead of failing; malformed values always fail, and so
 * does a request over a limit, checked before any value is parsed.
 * See https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-kick-off-request.
 * @param input - the raw request from the HTTP layer
 * @param options - the exportable types, the clock and the limits
 * @throws InvalidRequestError (expression = the parameter) for a malformed body or value
 * @throws LimitExceededError (expression = the parameter) for a request over one of the limits
 * @throws NotSupportedError (expression = the parameter) for a valid feature fhirhose does not offer
 */
export function parseKickoff(input: KickoffInput, options: KickoffOptions): ExportRequest {
  const prefs = parsePrefer(input.prefer);
  const now = options.now ?? Date.now();
  const ctx: ParseContext = { level: input.level, lenient: prefs.lenient, warnings: [] };
  const { params, patientRefs } = collectParams(input, ctx);
  checkKickoffLimits(params, patientRefs, options.limits ?? DEFAULT_KICKOFF_LIMITS);
  const outputFormat = parseOutputFormat(single(params, '_outputFormat'));
  const { since, until } = parseTimeRange(params, now);
  const types = parseTypes(params.get('_type'), options.exportableTypes, ctx);
  const elements = splitList(params.get('_elements') ?? []);
  if (elements.length > 0) parseElements(elements, types ?? [...options.exportableTypes]);
  const { typeFilters, excludedTypes } = parseTypeFilters(params.get('_typeFilter') ?? [], now, ctx);
  const organizeOutputBy = parseOrganizeOutputBy(single(params, 'organizeOutputBy'), ctx);
  let includeAssociatedData = parseIncludeAssociatedData(params.get('includeAssociatedData') ?? [], ctx);
  if (organizeOutputBy && includeAssociatedData.length > 0) {
    // Organized blocks follow the Patient compartment only; Provenance by target is not planned there.
    reject(
      ctx,
      notSupported('includeAssociatedData', 'includeAssociatedData cannot be combined with organizeOutputBy'),
    );
    includeAssociatedData = [];
  }
  return withoutUndefined({
    level: input.level,
    groupId: input.groupId,
    requestUrl: input.requestUrl,
    outputFormat,
    since,
    until,
    types,
    typeFilters,
    excludedTypes,
    elements,
    patients: parsePatients(patientRefs, ctx),
    includeAssociatedData,
    organizeOutputBy,
    allowPartialManifests: parseBoolean(single(params, 'allowPartialManifests'), 'allowPartialManifests'),
    lenient: prefs.lenient,
    separateExportStatus: prefs.separateExportStatus,
    warnings: ctx.warnings,
  });
}

/**
 * Gathers the parameters of both sources, drops unknown names (an error unless lenient) and keeps
 * `patient` apart: it is valid only as a POST body Reference, never in the query (IG: "POST only").
 */
function collectParams(input: KickoffInput, ctx: ParseContext): { params: Params; patientRefs: string[] } {
  const params = input.method === 'POST' ? readParametersBody(input.body) : new Map<string, string[]>();
  const patientRefs = params.get('patient') ?? [];
  params.delete('patient');
  for (const [name, value] of Object.entries(input.query)) {
    if (value === undefined) continue;
    if (name === 'patient') {
      if (ctx.level === 'system') throw patientOnSystem();
      reject(ctx, invalid('patient', 'Parameter patient is accepted only in a POST Parameters body'));
      continue;
    }
    params.set(name, [...(params.get(name) ?? []), ...(Array.isArray(value) ? value : [value])]);
  }
  if (patientRefs.length > 0 && ctx.level === 'system') throw patientOnSystem();
  for (const [name, values] of params) {
    if (KNOWN_PARAMS.has(name)) continue;
    params.delete(name);
    if (IGNORED_PARAMS.has(name)) continue;
    reject(ctx, invalid(name, `Parameter ${name}=${values.join(',')} is not supported`));
  }
  for (const name of SINGLE_PARAMS) {
    const values = [...new Set(params.get(name))];
    if (values.length > 1) {
      throw invalid(name, `Parameter ${name} must not be repeated, got ${values.join(', ')}`);
    }
  }
  return { params, patientRefs };
}

function patientOnSystem(): InvalidRequestError {
  return invalid('patient', 'Parameter patient is not applicable to a system-level export');
}

/** The value of a 0..1 parameter (collectParams has already rejected differing repeats). */
function single(params: Params, name: string): string | undefined {
  return params.get(name)?.[0];
}

/** The items of a parameter whose values may be comma lists: repeats count as comma-joined (IG v2+). */
function splitList(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((s) => s.trim());
}

function parseOutputFormat(value: string | undefined): 'application/fhir+ndjson' {
  if (value === undefined) return 'application/fhir+ndjson';
  const [type = '', ...mediaParams] = value.split(';').map((s) => s.trim().toLowerCase());
  const utf8Only = mediaParams.every((p) => /^charset\s*=\s*"?utf-8"?$/.test(p));
  if (!NDJSON_FORMATS.has(type) || !utf8Only) {
    throw invalid('_outputFormat', `_outputFormat '${value}' is not supported: only NDJSON is offered`);
  }
  return 'application/fhir+ndjson';
}

/** `_since` and `_until` in epoch ms. `_since` must not be in the future, `_until` must be later. */
function parseTimeRange(params: Params, now: number): { since?: number; until?: number } {
  const sinceText = single(params, '_since');
  const untilText = single(params, '_until');
  const since = sinceText === undefined ? undefined : parseInstant(sinceText, '_since');
  const until = untilText === undefined ? undefined : parseInstant(untilText, '_until');
  if (since !== undefined && since > now) throw invalid('_since', `_since '${sinceText}' is in the future`);
  if (since !== undefined && until !== undefined && until <= since) {
    throw invalid('_until', `_until '${untilText}' must be later than _since '${sinceText}'`);
  }
  return { since, until };
}

function parseTypes(
  values: readonly string[] | undefined,
  exportable: ReadonlySet<string>,
  ctx: ParseContext,
): string[] | undefined {
  if (values === undefined) return undefined;
  const types: string[] = [];
  const seen = new Set<string>();
  for (const type of splitList(values)) {
    if (seen.has(type)) continue;
    seen.add(type);
    const problem = typeProblem(type, exportable, ctx.level);
    if (problem === undefined) types.push(type);
    else reject(ctx, problem);
  }
  if (types.length === 0) {
    throw invalid('_type', `_type '${values.join(',')}': none of the requested types can be exported`);
  }
  return types;
}

/** Why `type` cannot be exported at `level`, or undefined when it can (IG `_type`, Patient Compartment). */
function typeProblem(
  type: string,
  exportable: ReadonlySet<string>,
  level: ExportLevel,
): FhirhoseError | undefined {
  if (!RESOURCE_TYPES.has(type)) return invalid('_type', `_type '${type}' is not an R4 resource type`);
  if (!exportable.has(type)) return notSupported('_type', `_type '${type}' is not exported by this server`);
  if (level !== 'system' && !PATIENT_COMPARTMENT_TYPES.has(type) && !SUPPORTING_TYPES.has(type)) {
    return notSupported(
      '_type',
      `_type '${type}' is outside the Patient compartment of a ${level}-level export`,
    );
  }
  return undefined;
}

/**
 * The `_typeFilter` queries to apply. Strict: every query must compile. Lenient: a query using a
 * search feature we do not support is dropped with a warning, and a type left with no query is
 * excluded rather than exported unfiltered, since an unapplied filter would over-disclose. Malformed
 * queries fail either way.
 */
function parseTypeFilters(
  values: string[],
  now: number,
  ctx: ParseContext,
): { typeFilters: string[]; excludedTypes: string[] | undefined } {
  if (values.length === 0) return { typeFilters: values, excludedTypes: undefined };
  if (!ctx.lenient) {
    compileTypeFilters(values, { now });
    return { typeFilters: values, excludedTypes: undefined };
  }
  const { applicable, dropped } = partitionTypeFilters(values, { now });
  if (dropped.length === 0) return { typeFilters: values, excludedTypes: undefined };
  const kept = new Set(applicable.map((q) => q.slice(0, q.indexOf('?'))));
  const excluded = [...new Set(dropped.map((d) => d.resourceType))].filter((t) => !kept.has(t));
  for (const { query, resourceType, error } of dropped) {
    const effect = kept.has(resourceType)
      ? `the other _typeFilter queries on ${resourceType} still apply`
      : `${resourceType} is left out of the export, not exported unfiltered`;
    ctx.warnings.push({
      parameter: '_typeFilter',
      message: `${error.message}; query '${query}' dropped and ${effect} (Prefer: handling=lenient)`,
    });
  }
  return { typeFilters: applicable, excludedTypes: excluded.length > 0 ? excluded : undefined };
}

function parsePatients(refs: readonly string[], ctx: ParseContext): string[] | undefined {
  if (refs.length === 0 || ctx.level === 'system') return undefined;
  const ids: string[] = [];
  for (const ref of refs) {
    const parsed = parseReference(ref);
    if (parsed?.type !== 'Patient') {
      throw invalid('patient', `patient reference '${ref}' is not a Patient/<id> reference`);
    }
    if (!ids.includes(parsed.id)) ids.push(parsed.id);
  }
  return ids;
}

function parseIncludeAssociatedData(values: readonly string[], ctx: ParseContext): string[] {
  const codes: string[] = [];
  for (const code of splitList(values)) {
    if (PROVENANCE_VALUES.has(code)) {
      if (!codes.includes(code)) codes.push(code);
    } else if (/^_\S+$/.test(code)) {
      reject(ctx, notSupported('includeAssociatedData', `includeAssociatedData '${code}' is not supported`));
    } else {
      throw invalid('includeAssociatedData', `includeAssociatedData '${code}' is not a valid value`);
    }
  }
  return codes;
}

function parseOrganizeOutputBy(value: string | undefined, ctx: ParseContext): string | undefined {
  if (value === undefined || value === 'Patient') return value;
  if (!isResourceType(value)) {
    throw invalid('organizeOutputBy', `organizeOutputBy '${value}' is not an R4 resource type`);
  }
  reject(
    ctx,
    notSupported('organizeOutputBy', `organizeOutputBy '${value}' is not supported: only Patient is`),
  );
  return undefined;
}

function parseBoolean(value: string | undefined, name: string): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw invalid(name, `${name} '${value}' must be true or false`);
}

/** Throws `error`, or under lenient handling records it as a warning so the parameter is ignored. */
function reject(ctx: ParseContext, error: FhirhoseError): void {
  if (!ctx.lenient) throw error;
  ctx.warnings.push({
    parameter: error.expression ?? '',
    message: `${error.message}; ignored (Prefer: handling=lenient)`,
  });
}

/** The request without its undefined optional fields, so it compares and serializes cleanly. */
function withoutUndefined(request: ExportRequest): ExportRequest {
  return Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined)) as ExportRequest;
}

function invalid(expression: string, message: string): InvalidRequestError {
  return new InvalidRequestError(message, { expression });
}

function notSupported(expression: string, message: string): NotSupportedError {
  return new NotSupportedError(message, { expression });
}
