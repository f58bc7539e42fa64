import { parseReference } from './references.js';
import type { ParsedReference } from './references.js';
import type { FhirResource } from './resource.js';

/** One usable `Group.member`. */
export interface GroupMember {
  /** The parsed `member.entity.reference`; a `urn:uuid:` gives `{ id }` with no type, for the caller to resolve. */
  ref: ParsedReference;
  /** `member.inactive` is true: the entity is no longer in the group. */
  inactive: boolean;
}

/** A `Group.member` whose entity has no reference we can parse (identifier-only, contained, conditional, ...). */
export interface InvalidGroupMember {
  /** Index in `Group.member`, so an OperationOutcome can point at `Group.member[index].entity`. */
  index: number;
  /** The raw reference, when there was a string. */
  reference?: string;
}

/** The members of a Group: those we can follow, and those we cannot. */
export interface GroupMembers {
  members: GroupMember[];
  invalid: InvalidGroupMember[];
}

/**
 * Reads `Group.member[].entity.reference` (https://hl7.org/fhir/R4/group.html). Members keep their
 * order and type: a Group may hold Practitioners, Devices or other Groups as well as Patients, and the
 * caller picks what it exports. Nothing is dropped silently: an entity without a parsable literal
 * reference is listed in `invalid`.
 * @param group - a Group resource
 * @throws TypeError when `group` is not a Group (a programmer error)
 */
export function groupMemberRefs(group: FhirResource): GroupMembers {
  if (group.resourceType !== 'Group') throw new TypeError(`expected a Group, got ${group.resourceType}`);
  const result: GroupMembers = { members: [], invalid: [] };
  const members = Array.isArray(group.member) ? (group.member as unknown[]) : [];
  members.forEach((member, index) => {
    const { entity, inactive } = (member ?? {}) as { entity?: { reference?: unknown }; inactive?: unknown };
    const reference = entity?.reference;
    const ref = typeof reference === 'string' ? parseReference(reference) : undefined;
    if (ref !== undefined) result.members.push({ ref, inactive: inactive === true });
    else result.invalid.push(typeof reference === 'string' ? { index, reference } : { index });
  });
  return result;
}
