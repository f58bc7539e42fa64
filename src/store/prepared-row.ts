import type { FhirResource } from '../fhir/index.js';
import { groupMemberRefs, patientCompartmentRefs, provenanceTargets } from '../fhir/index.js';
import type { PreparedResource } from './stamp.js';
import { prepareResource } from './stamp.js';

/** The search rows of a Group: its direct members and its name and identifiers. */
export interface GroupIndex {
  /** `type` is absent for `urn:uuid:` members; the writer resolves it against stored resources. */
  members: { type?: string; id: string; inactive: boolean }[];
  /** `[kind, value]` pairs for `group_search`. */
  search: [string, string][];
}

/**
 * Everything a store needs to write one resource, computed without the database: the serialized text
 * and hash, and the index rows. Loaders build these off the writing thread.
 */
export interface PreparedRow extends PreparedResource, IndexEntries {}

/** The index rows of a resource. */
export interface IndexEntries {
  /** Patient compartment memberships, flattened as `patientId, param, patientId, param, ...`. */
  compartment: string[];
  group?: GroupIndex;
  /**
   * A Provenance's typed targets, flattened as `type, id, type, id, ...` (each pair once), for the
   * target index: a Group export finds the Provenance of its members' resources through it.
   */
  targets?: string[];
}

/** Prepare a resource for writing; see `prepareResource` for `text`. Mutates `resource.meta`. */
export function prepareRow(resource: FhirResource & { id: string }, text?: string): PreparedRow {
  return { ...prepareResource(resource, text), ...indexEntries(resource) };
}

/** The compartment and Group index rows a resource needs. */
export function indexEntries(resource: FhirResource): IndexEntries {
  const compartment: string[] = [];
  for (const { param, patientId } of patientCompartmentRefs(resource)) compartment.push(patientId, param);
  if (resource.resourceType === 'Group') return { compartment, group: groupIndex(resource) };
  if (resource.resourceType === 'Provenance') {
    const targets = targetPairs(resource);
    if (targets.length > 0) return { compartment, targets };
  }
  return { compartment };
}

/** A Provenance's distinct typed targets, flattened. */
function targetPairs(provenance: FhirResource): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const { type, id } of provenanceTargets(provenance)) {
    const key = `${type}/${id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(type, id);
  }
  return out;
}

function groupIndex(group: FhirResource): GroupIndex {
  const index: GroupIndex = { members: [], search: [] };
  for (const { ref, inactive } of groupMemberRefs(group).members) {
    index.members.push(
      ref.type === undefined ? { id: ref.id, inactive } : { type: ref.type, id: ref.id, inactive },
    );
  }
  if (typeof group.name === 'string') index.search.push(['name', group.name]);
  const identifiers = Array.isArray(group.identifier) ? (group.identifier as unknown[]) : [];
  for (const ident of identifiers) {
    if (typeof ident !== 'object' || ident === null) continue;
    const { system, value } = ident as { system?: unknown; value?: unknown };
    if (typeof value !== 'string') continue;
    index.search.push(['identifier', `${typeof system === 'string' ? system : ''}|${value}`]);
    index.search.push(['identifier-value', value]);
  }
  return index;
}
