import { ForbiddenError } from '../fhir/index.js';
import type { ReadAccess } from './authorize.js';
import type { FileReadStream } from '../storage/index.js';
import type { UnitFile, UnitSpec } from './unit-spec.js';

// Bulk IG "Privacy and Security Considerations": the server returns only the data the client is
// authorized for, so a file is served (and listed, and pre-signed) only to a token whose scopes
// cover every resource type it may hold. docs/export.md "Who may download which file".

/** A file a finished unit wrote, with the spec of that unit. */
export interface ListedFile {
  spec: UnitSpec;
  file: UnitFile;
}

/**
 * The resource types whose data a file may hold, from the spec of the unit that wrote it; undefined
 * for an `error` file, which holds OperationOutcomes about the request (lenient warnings, a unit that
 * failed) and no resource data.
 * @throws TypeError for a data file of a unit kind that writes none (a bug, never served)
 */
export function fileTypes({ spec, file }: ListedFile): readonly string[] | undefined {
  if (file.kind === 'error') return undefined;
  switch (spec.kind) {
    // A deleted file's Bundles hold DELETE entries of its type: those ids are data of that type.
    case 'resources':
    case 'supporting':
    case 'deleted':
    case 'view':
      return [spec.type];
    // A member unit writes one series per type, each file of its own type.
    case 'members':
    case 'memberRange':
      return [file.type];
    case 'blocks':
      return spec.types;
    case 'provenance':
    case 'foundProvenance':
      return ['Provenance'];
    case 'plan':
    case 'warnings':
      throw new TypeError(`a ${spec.kind} unit wrote the ${file.kind} file ${file.name}`);
    default: {
      // Every kind is named above: a new kind fails to compile here until it says what it writes.
      const unknown: never = spec;
      throw new TypeError(`a unit of unknown kind wrote ${file.name}: ${JSON.stringify(unknown)}`);
    }
  }
}

/** The types of a file that `access` does not cover; empty when it may read the file. */
function deniedTypes(access: ReadAccess, listed: ListedFile): string[] {
  const types = fileTypes(listed);
  if (types === undefined) return [];
  // A data file that names no type cannot be judged: refuse it rather than serve it to everyone.
  if (types.length === 0) return ['(unknown)'];
  return types.filter((t) => !access.canRead(t));
}

/**
 * True when a token with `access` may read the file; always true with auth off (`access` undefined).
 * @param access - the token's grant, or undefined when authorization is off
 * @param listed - the file and the spec of the unit that wrote it
 */
export function mayReadFile(access: ReadAccess | undefined, listed: ListedFile): boolean {
  return access === undefined || deniedTypes(access, listed).length === 0;
}

/**
 * Refuse a download the token's scopes do not cover.
 * @throws ForbiddenError naming the types the scopes do not allow reading
 */
export function assertMayReadFile(access: ReadAccess | undefined, listed: ListedFile): void {
  if (access === undefined) return;
  const denied = deniedTypes(access, listed);
  if (denied.length > 0) {
    throw new ForbiddenError(
      `the access token's scopes do not allow reading ${denied.join(', ')}, which file ${listed.file.name} holds`,
    );
  }
}

/** One inclusive byte range of a file. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Picks the range to serve once the file's size is known: a range, undefined for the whole file, or
 * null when the requested range cannot be satisfied (nothing is opened then).
 */
export type RangePicker = (bytes: number) => ByteRange | undefined | null;

/** A file the caller may download, already checked and opened. */
export interface OpenedFile {
  bytes: number;
  /** When the job and its files expire; null while the job runs (partial manifests). */
  expiresAt: number | null;
  /** The range picked: undefined for the whole file, null when unsatisfiable. */
  range: ByteRange | undefined | null;
  /** The file or its range; null when the range is unsatisfiable. */
  stream: FileReadStream | null;
}
