import { InvalidRequestError } from '../fhir/index.js';

// The POST kick-off body: a FHIR Parameters resource whose value[x] types come from the Bulk Data
// OperationDefinitions (https://hl7.org/fhir/uv/bulkdata/OperationDefinition-export.html).

const INCLUDE_ASSOCIATED_DATA_SYSTEM = 'http://hl7.org/fhir/uv/bulkdata/CodeSystem/include-associated-data';

type ValueKey =
  | 'valueString'
  | 'valueInstant'
  | 'valueDateTime'
  | 'valueReference'
  | 'valueCode'
  | 'valueCoding'
  | 'valueBoolean';

// `valueDateTime` is accepted for `_since`/`_until` because many clients send it; parseInstant still
// requires seconds and a timezone. `valueCoding` is the v4 draft's form of `includeAssociatedData`.
const VALUE_TYPES: Readonly<Record<string, readonly ValueKey[]>> = {
  _outputFormat: ['valueString'],
  _type: ['valueString'],
  _elements: ['valueString'],
  _typeFilter: ['valueString'],
  organizeOutputBy: ['valueString'],
  _since: ['valueInstant', 'valueDateTime'],
  _until: ['valueInstant', 'valueDateTime'],
  patient: ['valueReference'],
  includeAssociatedData: ['valueCode', 'valueCoding'],
  allowPartialManifests: ['valueBoolean'],
};

/**
 * Reads a POST kick-off body into parameter values, in the same string form a GET query carries:
 * `patient` values are the `reference` strings and booleans become `true`/`false`. Parameters the IG
 * does not define keep their name with a primitive value, or an empty string, for the caller to judge.
 * An absent body (`undefined`) has no parameters; the JSON body `null` is not a Parameters resource.
 * @param body - the parsed JSON body
 * @returns each parameter name with its values, in body order
 * @throws InvalidRequestError when the body is not a Parameters resource, `parameter` is not an array,
 *   or an entry has no name, several values, or a value type its parameter does not take
 */
export function readParametersBody(body: unknown): Map<string, string[]> {
  const params = new Map<string, string[]>();
  if (body === undefined) return params;
  if (!isObject(body) || body.resourceType !== 'Parameters') {
    throw invalid('Parameters', 'the POST kick-off body must be a FHIR Parameters resource');
  }
  if (body.parameter === undefined) return params;
  if (!Array.isArray(body.parameter)) {
    throw invalid('Parameters.parameter', 'Parameters.parameter must be an array');
  }
  body.parameter.forEach((entry: unknown, index) => {
    const where = `Parameters.parameter[${index}]`;
    if (!isObject(entry) || typeof entry.name !== 'string' || entry.name === '') {
      throw invalid(where, `${where} has no name`);
    }
    const values = params.get(entry.name) ?? [];
    values.push(readValue(entry, entry.name));
    params.set(entry.name, values);
  });
  return params;
}

function readValue(entry: Record<string, unknown>, name: string): string {
  const keys = Object.keys(entry).filter((k) => /^value[A-Z]/.test(k) || k === 'resource' || k === 'part');
  const allowed = Object.hasOwn(VALUE_TYPES, name) ? VALUE_TYPES[name] : undefined;
  if (keys.length > 1) throw invalid(name, `parameter ${name} has more than one value`);
  const [key] = keys;
  if (allowed === undefined) {
    const value = key === undefined ? undefined : entry[key];
    return typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number'
      ? String(value)
      : '';
  }
  if (key === undefined || !(allowed as readonly string[]).includes(key)) {
    throw invalid(name, `parameter ${name} must have ${allowed.join(' or ')}, got ${key ?? 'no value'}`);
  }
  return convert(key as ValueKey, entry[key], name);
}

function convert(key: ValueKey, value: unknown, name: string): string {
  switch (key) {
    case 'valueBoolean':
      if (typeof value !== 'boolean')
        throw invalid(name, `parameter ${name}: valueBoolean must be true or false`);
      return String(value);
    case 'valueReference':
      if (!isObject(value) || typeof value.reference !== 'string') {
        throw invalid(name, `parameter ${name}: valueReference must have a reference string`);
      }
      return value.reference;
    case 'valueCoding':
      return codingCode(value, name);
    default:
      if (typeof value !== 'string') throw invalid(name, `parameter ${name}: ${key} must be a string`);
      return value;
  }
}

function codingCode(value: unknown, name: string): string {
  if (!isObject(value) || typeof value.code !== 'string') {
    throw invalid(name, `parameter ${name}: valueCoding must have a code`);
  }
  if (value.system !== undefined && value.system !== INCLUDE_ASSOCIATED_DATA_SYSTEM) {
    throw invalid(
      name,
      `parameter ${name}: valueCoding system must be ${INCLUDE_ASSOCIATED_DATA_SYSTEM}, got '${String(value.system)}'`,
    );
  }
  return value.code;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(expression: string, message: string): InvalidRequestError {
  return new InvalidRequestError(message, { expression });
}
