import { StoreError } from '../fhir/index.js';
import type { UnitRecord } from '../store/index.js';
import type { ExportRequest } from './types.js';
import type { UnitCheckpoint, UnitFile, UnitResult, UnitSpec } from './unit-spec.js';

// The one codec of the JSON the export layer stores with its jobs: the request (`job.request`), each
// unit's spec, checkpoint and result. The store keeps them as opaque text; everything that reads them
// goes through here, so a shape change is made (and made readable for old rows) in one place.

/**
 * The schema version written into every stored value as `"v"`. Rows written before versioning have no
 * `v` and the same shape: they read as version 0, so jobs queued by the previous release resume.
 */
export const JOB_SCHEMA_VERSION = 1;

/** The stored JSON of a job or unit does not decode: it was corrupted, or written by a newer release. */
export class CorruptJobError extends StoreError {
  static override code = 'FHIRHOSE_ERR_CORRUPT_JOB';
}

type Json = Record<string, unknown>;

/** What a stored value is, for error messages. */
type Stored = 'request' | 'unit spec' | 'unit checkpoint' | 'unit result';

/** A leased unit's spec and checkpoint, decoded. */
export interface DecodedUnit {
  spec: UnitSpec;
  /** Where a unit that yielded part-way resumes; undefined when it starts afresh. */
  checkpoint: UnitCheckpoint | undefined;
}

/** The stored text of an export request. */
export function encodeExportRequest(request: ExportRequest): string {
  return encode(request);
}

/** The stored text of a unit spec. */
export function encodeUnitSpec(spec: UnitSpec): string {
  return encode(spec);
}

/** The stored text of a unit checkpoint. */
export function encodeUnitCheckpoint(checkpoint: UnitCheckpoint): string {
  return encode(checkpoint);
}

/** The stored text of a unit result. */
export function encodeUnitResult(result: UnitResult): string {
  return encode(result);
}

/**
 * A stored export request.
 * @throws CorruptJobError when it is not JSON of a request's shape, or of a newer schema version
 */
export function decodeExportRequest(text: string): ExportRequest {
  const r = new Reader('request', parse(text, 'request'));
  if (!['system', 'patient', 'group'].includes(r.str('level'))) r.fail('level', 'an export level');
  r.str('requestUrl');
  r.str('outputFormat');
  for (const key of ['groupId', 'organizeOutputBy']) r.optional(key, () => r.str(key));
  for (const key of ['since', 'until']) r.optional(key, () => r.num(key));
  for (const key of ['typeFilters', 'elements', 'includeAssociatedData']) r.strings(key);
  for (const key of ['types', 'excludedTypes', 'patients']) r.optional(key, () => r.strings(key));
  for (const key of ['allowPartialManifests', 'lenient', 'separateExportStatus']) r.bool(key);
  r.list('warnings', (w, path) => {
    if (!isObject(w) || typeof w.parameter !== 'string' || typeof w.message !== 'string')
      r.fail(path, 'a warning');
  });
  r.optional('view', () => {
    const view = r.value.view;
    if (!isObject(view) || !Array.isArray(view.views) || typeof view.format !== 'string')
      r.fail('view', 'the views of a view export');
  });
  return r.value as unknown as ExportRequest;
}

/**
 * A stored unit spec.
 * @throws CorruptJobError when it is not JSON of a known unit kind's shape, or of a newer schema version
 */
export function decodeUnitSpec(text: string): UnitSpec {
  const r = new Reader('unit spec', parse(text, 'unit spec'));
  switch (r.value.kind) {
    case 'plan':
    case 'warnings':
      break;
    case 'resources':
      r.str('type');
      r.range();
      break;
    case 'supporting':
    case 'deleted':
      r.str('type');
      break;
    case 'members':
      if (r.value.provenance !== undefined && r.value.provenance !== true)
        r.fail('provenance', 'true or absent');
      r.strings('patients');
      r.strings('types');
      break;
    case 'memberRange':
      if (r.value.provenance !== undefined && r.value.provenance !== true)
        r.fail('provenance', 'true or absent');
      if (!Number.isInteger(r.value.after)) r.fail('after', 'a row id');
      r.optional('upTo', () => Number.isInteger(r.value.upTo) || r.fail('upTo', 'a row id'));
      r.strings('types');
      break;
    case 'foundProvenance':
      break;
    case 'blocks':
      r.strings('patients');
      r.strings('types');
      break;
    case 'provenance':
      if (r.value.mode !== 'relevant' && r.value.mode !== 'latest') r.fail('mode', 'relevant or latest');
      r.strings('targetTypes');
      r.range();
      break;
    case 'view':
      if (!Number.isInteger(r.value.view) || (r.value.view as number) < 0) r.fail('view', 'a view index');
      r.str('type');
      r.range();
      r.optional('patients', () => r.strings('patients'));
      r.optional('first', () => r.value.first === true || r.fail('first', 'true'));
      break;
    default:
      r.fail('kind', 'a unit kind');
  }
  return r.value as unknown as UnitSpec;
}

/**
 * A stored unit checkpoint.
 * @throws CorruptJobError when it is not JSON of a checkpoint's shape, or of a newer schema version
 */
export function decodeUnitCheckpoint(text: string): UnitCheckpoint {
  const r = new Reader('unit checkpoint', parse(text, 'unit checkpoint'));
  if (!Number.isInteger(r.num('segment'))) r.fail('segment', 'an integer');
  r.optional('after', () => r.scanKey('after'));
  r.optional('afterPatient', () => r.str('afterPatient'));
  r.optional('afterRid', () => Number.isInteger(r.value.afterRid) || r.fail('afterRid', 'a row id'));
  r.files();
  return r.value as unknown as UnitCheckpoint;
}

/**
 * A stored unit result.
 * @throws CorruptJobError when it is not JSON of a result's shape, or of a newer schema version
 */
export function decodeUnitResult(text: string): UnitResult {
  const r = new Reader('unit result', parse(text, 'unit result'));
  r.files();
  return r.value as unknown as UnitResult;
}

/**
 * A unit's spec and checkpoint, decoded once for its run.
 * @throws CorruptJobError when either does not decode
 */
export function decodeUnit(unit: UnitRecord): DecodedUnit {
  return {
    spec: decodeUnitSpec(unit.spec),
    checkpoint: unit.checkpoint ? decodeUnitCheckpoint(unit.checkpoint) : undefined,
  };
}

function encode(value: object): string {
  return JSON.stringify({ v: JOB_SCHEMA_VERSION, ...value });
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The stored object without its version field, once its version is one this release reads. */
function parse(text: string, what: Stored): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new CorruptJobError(`the stored ${what} is not JSON`, { cause });
  }
  if (!isObject(value)) throw new CorruptJobError(`the stored ${what} is not a JSON object`);
  const { v, ...rest } = value;
  if (v === undefined || v === JOB_SCHEMA_VERSION) return rest;
  if (typeof v === 'number' && Number.isInteger(v) && v > JOB_SCHEMA_VERSION) {
    throw new CorruptJobError(
      `the stored ${what} has schema version ${v}, written by a newer release; this one reads up to ${JOB_SCHEMA_VERSION}`,
      { expression: 'v' },
    );
  }
  throw new CorruptJobError(`the stored ${what} has an invalid schema version`, { expression: 'v' });
}

/** Checks on the fields of one decoded object; each throws CorruptJobError naming the field. */
class Reader {
  constructor(
    private readonly what: Stored,
    readonly value: Json,
  ) {}

  fail(path: string, expected: string): never {
    throw new CorruptJobError(`the stored ${this.what} does not decode: ${path} is not ${expected}`, {
      expression: path,
    });
  }

  optional(key: string, check: () => unknown): void {
    if (this.value[key] !== undefined) check();
  }

  str(key: string): string {
    const v = this.value[key];
    return typeof v === 'string' ? v : this.fail(key, 'a string');
  }

  num(key: string): number {
    const v = this.value[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : this.fail(key, 'a number');
  }

  bool(key: string): void {
    if (typeof this.value[key] !== 'boolean') this.fail(key, 'a boolean');
  }

  list(key: string, check: (item: unknown, path: string) => void): void {
    const v = this.value[key];
    if (!Array.isArray(v)) return this.fail(key, 'a list');
    for (let i = 0; i < v.length; i++) check(v[i], `${key}[${i}]`);
  }

  strings(key: string): void {
    this.list(key, (item, path) => {
      if (typeof item !== 'string') this.fail(path, 'a string');
    });
  }

  /** A scan position: `{ lastUpdated, id }`. */
  scanKey(key: string): void {
    const v = this.value[key];
    if (!isObject(v) || typeof v.lastUpdated !== 'number' || typeof v.id !== 'string')
      this.fail(key, 'a scan key');
  }

  /** The optional key range of a unit: `(after, upTo]`. */
  range(): void {
    this.optional('after', () => this.scanKey('after'));
    this.optional('upTo', () => this.scanKey('upTo'));
  }

  files(): void {
    this.list('files', (f, path) => {
      if (!isFile(f)) this.fail(path, 'a unit file');
    });
  }
}

const FILE_KINDS: ReadonlySet<unknown> = new Set<UnitFile['kind']>(['output', 'deleted', 'error']);

function isFile(f: unknown): boolean {
  return (
    isObject(f) &&
    FILE_KINDS.has(f.kind) &&
    typeof f.type === 'string' &&
    typeof f.name === 'string' &&
    typeof f.count === 'number' &&
    typeof f.bytes === 'number' &&
    (f.continuesIn === undefined || typeof f.continuesIn === 'string')
  );
}
