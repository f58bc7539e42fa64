import type { ReadResult, ResourceKey, ScanKey, StoredResource } from './types.js';

type Answer<T> = T | Promise<T>;

/** The reads each store's reader answers under the same names: SQLite's at once, PostgreSQL's later. */
export interface StoreReader {
  read(type: string, id: string): Answer<ReadResult>;
  readVersion(type: string, id: string, versionId: number): Answer<StoredResource | undefined>;
  /** Types with a row in `resource` (or in `tombstone`). */
  types(table?: 'resource' | 'tombstone'): Answer<string[]>;
  count(type: string): Answer<number>;
  patientIds(asOf: number): Answer<string[]>;
  groupPatients(groupId: string): Answer<string[]>;
  compartmentsOf(type: string, id: string): Answer<string[]>;
  compartmentsOfMany(refs: readonly ResourceKey[]): Answer<Map<string, string[]>>;
  rangeBoundaries(type: string, rowsPerRange: number): Answer<ScanKey[]>;
}

/**
 * The part of a store that hands its point reads, type lists, Group and compartment lookups and range
 * keys to its reader as they are; each store writes, scans and plans in its own way.
 */
export abstract class ReaderStore {
  protected abstract readonly reader: StoreReader;

  /** Read the current version. */
  async read(type: string, id: string): Promise<ReadResult> {
    return this.reader.read(type, id);
  }

  /** Read one version, current or historical. */
  async readVersion(type: string, id: string, versionId: number): Promise<StoredResource | undefined> {
    return this.reader.readVersion(type, id, versionId);
  }

  /** The resource types that have at least one current resource. */
  async types(): Promise<string[]> {
    return this.reader.types();
  }

  /** The resource types that have at least one tombstone. */
  async deletedTypes(): Promise<string[]> {
    return this.reader.types('tombstone');
  }

  /** Count current resources of a type (as of now). */
  async count(type: string): Promise<number> {
    return this.reader.count(type);
  }

  /** Ids of the Patients current at `asOf`, in id order. */
  async patientIds(asOf: number): Promise<string[]> {
    return this.reader.patientIds(asOf);
  }

  /** Flattened Patient members of a Group. */
  async groupPatients(groupId: string): Promise<string[]> {
    return this.reader.groupPatients(groupId);
  }

  /** The patient ids whose compartment holds this resource. */
  async compartmentsOf(type: string, id: string): Promise<string[]> {
    return this.reader.compartmentsOf(type, id);
  }

  /** `compartmentsOf` for many resources, keyed `type/id`. */
  async compartmentsOfMany(refs: readonly ResourceKey[]): Promise<Map<string, string[]>> {
    return this.reader.compartmentsOfMany(refs);
  }

  /** Keys that split a type's current rows into ranges of `rowsPerRange` rows (exact; tests compare `planRanges` with them). */
  async rangeBoundaries(type: string, rowsPerRange: number): Promise<ScanKey[]> {
    return this.reader.rangeBoundaries(type, rowsPerRange);
  }
}
