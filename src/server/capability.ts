import { RESOURCE_TYPES } from '../fhir/index.js';
import { referenceParamsOf } from './search-support.js';

/** A named operation, as CapabilityStatement.rest.[resource.]operation. */
export interface CapabilityOperation {
  name: string;
  /** Canonical URL of the OperationDefinition. */
  definition: string;
  /** What the server supports of it (formats, reference forms), as markdown. */
  documentation?: string;
}

/** Inputs of the CapabilityStatement; every field past `baseUrl` is optional so new features can add theirs. */
export interface CapabilityOptions {
  /** The server's absolute base URL (implementation.url). */
  baseUrl: string;
  /** The statement's date; defaults to now. */
  date?: Date;
  /** software.version. */
  softwareVersion?: string;
  /** Resource types to list; defaults to every R4 type. */
  resourceTypes?: readonly string[];
  /** Canonical URLs the server instantiates (e.g. the Bulk Data CapabilityStatement). */
  instantiates?: readonly string[];
  /** System-level operations (e.g. `export`). */
  operations?: readonly CapabilityOperation[];
  /** Type-level operations by resource type (e.g. `Patient` and `Group` `export`). */
  resourceOperations?: Readonly<Record<string, readonly CapabilityOperation[]>>;
  /** More searchParam entries per type (e.g. those usable only in `_typeFilter`); REST ones win on a name clash. */
  extraSearchParams?: (type: string) => readonly SearchParamEntry[];
  /** rest.security as FHIR JSON (e.g. SMART OAuth URIs); included as given. */
  security?: Readonly<Record<string, unknown>>;
}

/** One CapabilityStatement.rest.resource.searchParam. */
export interface SearchParamEntry {
  name: string;
  type: string;
  definition?: string;
  documentation?: string;
}

const COMMON_PARAMS: SearchParamEntry[] = [
  { name: '_id', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id' },
  {
    name: '_lastUpdated',
    type: 'date',
    definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated',
    documentation: 'prefixes eq ne gt ge lt le sa eb; repeat the parameter to AND',
  },
];

const GROUP_PARAMS: SearchParamEntry[] = [
  {
    // R4 defines no Group `name` parameter (R5 does); this one searches Group.name.
    name: 'name',
    type: 'string',
    documentation: 'Group.name: starts-with, case-insensitive; :exact for equality',
  },
  { name: 'identifier', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Group-identifier' },
];

const INTERACTIONS = ['read', 'vread', 'create', 'update', 'delete', 'search-type'].map((code) => ({ code }));

/** The search parameters fhirhose really answers for `type`. */
export function searchParamsOf(type: string): SearchParamEntry[] {
  const refs = referenceParamsOf(type).map((name): SearchParamEntry => ({
    name,
    type: 'reference',
    documentation: 'Patient targets only: Patient/id, id, or an absolute URL on this server',
  }));
  return [...COMMON_PARAMS, ...refs, ...(type === 'Group' ? GROUP_PARAMS : [])];
}

function withExtra(rest: SearchParamEntry[], extra: readonly SearchParamEntry[]): SearchParamEntry[] {
  const names = new Set(rest.map((p) => p.name));
  return [...rest, ...extra.filter((p) => !names.has(p.name))];
}

/**
 * Build the server's R4 CapabilityStatement (http://hl7.org/fhir/R4/capabilitystatement.html).
 * @param options base URL plus the optional parts later features contribute.
 */
export function buildCapabilityStatement(options: CapabilityOptions): Record<string, unknown> {
  const resourceTypes = options.resourceTypes ?? [...RESOURCE_TYPES];
  const rest: Record<string, unknown> = { mode: 'server' };
  if (options.security) rest.security = options.security;
  rest.resource = resourceTypes.map((type) => {
    const entry: Record<string, unknown> = {
      type,
      interaction: INTERACTIONS,
      versioning: 'versioned',
      readHistory: true,
      updateCreate: true,
      searchParam: withExtra(searchParamsOf(type), options.extraSearchParams?.(type) ?? []),
    };
    const ops = options.resourceOperations?.[type];
    if (ops && ops.length > 0) entry.operation = ops;
    return entry;
  });
  if (options.operations && options.operations.length > 0) rest.operation = options.operations;

  const software: Record<string, unknown> = { name: 'fhirhose' };
  if (options.softwareVersion !== undefined) software.version = options.softwareVersion;
  const statement: Record<string, unknown> = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: (options.date ?? new Date()).toISOString(),
    kind: 'instance',
  };
  if (options.instantiates && options.instantiates.length > 0) statement.instantiates = options.instantiates;
  Object.assign(statement, {
    software,
    implementation: { description: 'fhirhose FHIR Bulk Data server', url: options.baseUrl },
    fhirVersion: '4.0.1',
    format: ['json', 'application/fhir+json'],
    rest: [rest],
  });
  return statement;
}
