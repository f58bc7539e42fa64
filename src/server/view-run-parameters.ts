import { InvalidRequestError, NotSupportedError } from '../fhir/index.js';
import { parseTableFormat } from '../tables/index.js';
import type { TableFormat } from '../tables/index.js';

/** A `$viewdefinition-run` request, read from its Parameters body. */
export interface ViewRunRequest {
  /** The inline view (`viewResource`); absent when the view is named by reference or by the URL. */
  view?: unknown;
  /** The `viewReference` text, to resolve against the stored views. */
  viewReference?: string;
  format: TableFormat;
  header: boolean;
  limit?: number;
  /** The id of the `patient` reference. */
  patientId?: string;
  /** Inline `resource` entries, used instead of the server's data when present. */
  resources?: unknown[];
}

interface Parameter {
  name?: unknown;
  resource?: unknown;
  valueCode?: unknown;
  valueString?: unknown;
  valueBoolean?: unknown;
  valueInteger?: unknown;
  valuePositiveInt?: unknown;
  valueUnsignedInt?: unknown;
  valueReference?: { reference?: unknown };
  valueCanonical?: unknown;
  valueUri?: unknown;
}

// Parameters the spec defines that this server does not implement yet (docs/views.md says so).
const NOT_YET: Record<string, string> = {
  group: 'the group parameter is not supported yet',
  _since: 'the _since parameter is not supported yet',
  source: 'external data sources are not supported',
};

function formatOf(params: Parameter[], accept: string | undefined): TableFormat {
  const given = params.find((p) => p.name === '_format');
  const code = given?.valueCode ?? given?.valueString;
  if (given !== undefined) {
    if (typeof code !== 'string')
      throw new InvalidRequestError('_format must be a code', { expression: '_format' });
    return parseTableFormat(code);
  }
  // `_format` wins over Accept (spec §4.4); Accept counts only when it names a table format exactly.
  const media = accept?.split(',')[0]?.split(';')[0]?.trim();
  if (media !== undefined && media !== '' && media !== '*/*') {
    try {
      return parseTableFormat(media);
    } catch {
      // An Accept of FHIR JSON or anything else does not choose a table format.
    }
  }
  throw new InvalidRequestError('_format is required: json, ndjson, csv or parquet', {
    expression: '_format',
  });
}

function limitOf(p: Parameter | undefined): number | undefined {
  if (p === undefined) return undefined;
  const value = p.valueInteger ?? p.valuePositiveInt ?? p.valueUnsignedInt;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidRequestError('_limit must be a non-negative integer', { expression: '_limit' });
  }
  return value;
}

function patientOf(p: Parameter | undefined): string | undefined {
  if (p === undefined) return undefined;
  const ref = p.valueReference?.reference;
  const m = typeof ref === 'string' ? /^(?:.*\/)?Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(ref) : null;
  if (!m)
    throw new InvalidRequestError('patient must be a reference to Patient/[id]', { expression: 'patient' });
  return m[1];
}

function single(params: Parameter[], name: string): Parameter | undefined {
  const found = params.filter((p) => p.name === name);
  if (found.length > 1) throw new InvalidRequestError(`${name} may appear once`, { expression: name });
  return found[0];
}

/** Where the view of a run comes from: the body (system and type level) or the URL (instance level). */
export type ViewSource = 'body' | 'url';

/**
 * Read a `$viewdefinition-run` Parameters body (SQL on FHIR v2, OperationDefinition ViewDefinitionRun).
 * @param accept - the Accept header, used for the format only when `_format` is absent
 * @param source - `url` at instance level, where the body may name no view (spec: SHALL)
 * @throws InvalidRequestError for a malformed body, NotSupportedError for a parameter not implemented
 */
export function parseViewRun(
  body: unknown,
  accept: string | undefined,
  source: ViewSource = 'body',
): ViewRunRequest {
  const b = body as { resourceType?: unknown; parameter?: unknown } | undefined;
  if (b?.resourceType !== 'Parameters' || !Array.isArray(b.parameter)) {
    throw new InvalidRequestError('the body must be a Parameters resource');
  }
  const params = b.parameter as Parameter[];
  for (const p of params) {
    const reason = typeof p.name === 'string' ? NOT_YET[p.name] : undefined;
    if (reason !== undefined) throw new NotSupportedError(reason, { expression: String(p.name) });
    const known = ['viewResource', 'viewReference', '_format', 'header', '_limit', 'patient', 'resource'];
    if (!known.includes(String(p.name))) {
      throw new NotSupportedError(`unknown parameter '${String(p.name)}'`, { expression: String(p.name) });
    }
  }
  const header = single(params, 'header')?.valueBoolean;
  const request: ViewRunRequest = {
    ...viewOf(params, source),
    format: formatOf(params, accept),
    header: header !== false,
  };
  const limit = limitOf(single(params, '_limit'));
  if (limit !== undefined) request.limit = limit;
  const patientId = patientOf(single(params, 'patient'));
  if (patientId !== undefined) request.patientId = patientId;
  const resources = params.filter((p) => p.name === 'resource').map((p) => p.resource);
  if (resources.length > 0) request.resources = resources;
  return request;
}

/** Exactly one of `viewResource` and `viewReference` at system and type level; neither at instance level. */
function viewOf(params: Parameter[], source: ViewSource): { view?: unknown; viewReference?: string } {
  const inline = single(params, 'viewResource');
  const ref = single(params, 'viewReference');
  if (source === 'url') {
    if (inline === undefined && ref === undefined) return {};
    throw new InvalidRequestError('the URL names the view: send neither viewResource nor viewReference', {
      expression: inline === undefined ? 'viewReference' : 'viewResource',
    });
  }
  if (inline !== undefined && ref !== undefined) {
    throw new InvalidRequestError('send viewResource or viewReference, not both', {
      expression: 'viewReference',
    });
  }
  if (ref !== undefined) {
    const text = ref.valueReference?.reference ?? ref.valueCanonical ?? ref.valueUri ?? ref.valueString;
    if (typeof text !== 'string' || text === '') {
      throw new InvalidRequestError('viewReference must be a valueReference with a reference', {
        expression: 'viewReference',
      });
    }
    return { viewReference: text };
  }
  if (inline?.resource === undefined) {
    throw new InvalidRequestError(
      'a view is required: viewResource holding the ViewDefinition, or viewReference naming a stored one',
      { expression: 'viewResource' },
    );
  }
  return { view: inline.resource };
}

/**
 * The query of a GET run as a Parameters body: only the simple parameters travel in a URL (spec:
 * GET takes `_format`, `header`, `patient`, `_limit`; a view or inline resources need POST).
 * @throws InvalidRequestError for a value of the wrong type
 */
export function viewRunQuery(query: URLSearchParams): { resourceType: 'Parameters'; parameter: Parameter[] } {
  const parameter: Parameter[] = [];
  for (const [name, value] of query) {
    if (name === 'header') {
      if (value !== 'true' && value !== 'false') {
        throw new InvalidRequestError('header must be true or false', { expression: 'header' });
      }
      parameter.push({ name, valueBoolean: value === 'true' });
    } else if (name === '_limit') {
      parameter.push({ name, valueInteger: /^\d{1,15}$/.test(value) ? Number(value) : value });
    } else if (name === 'patient') {
      parameter.push({ name, valueReference: { reference: value } });
    } else parameter.push({ name, valueString: value });
  }
  return { resourceType: 'Parameters', parameter };
}
