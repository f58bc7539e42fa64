import type { FhirResource } from '../fhir/index.js';
import { DIABETES } from './clinical-codes.js';
import { concept, ref } from './codes.js';
import type { Concept, Ref } from './codes.js';
import { dayOfYearStart } from './dates.js';
import { drawHeader } from './header.js';
import type { GenContext, PatientHeader } from './header.js';
import { IdSource } from './ids.js';
import { Prng } from './prng.js';

/** PRNG stream reserved for group ids (patient streams are index + 1 < 2^32 - 1). */
const GROUP_STREAM = 0xffffffff;
/** Group ids share block 0 with the shared resources, from this counter on. */
const GROUP_COUNTER_START = 0x8000;
const BORN_BEFORE = dayOfYearStart(1960);
const SAMPLE_EVERY = 50;

interface GroupSpec {
  readonly name: string;
  readonly includes: (h: PatientHeader) => boolean;
  readonly characteristic?: { readonly code: Concept; readonly value: Concept };
  readonly managingEntity?: Ref;
  /** Index of another spec whose Group is a member of this one. */
  readonly nestedGroup?: number;
}

/** Number of Group resources emitted. */
export const GROUP_COUNT = 6;

function specs(ctx: GenContext): GroupSpec[] {
  const provider = ctx.shared.providers[0]!;
  return [
    {
      name: 'Female patients',
      includes: (h) => h.female,
      characteristic: {
        code: concept('http://loinc.org', '46098-0', 'Sex'),
        value: concept('http://hl7.org/fhir/administrative-gender', 'female', 'Female'),
      },
    },
    { name: 'Patients born before 1960', includes: (h) => h.birthDay < BORN_BEFORE },
    {
      name: 'Patients with type 2 diabetes',
      includes: (h) => h.diabetic,
      characteristic: {
        code: concept('http://snomed.info/sct', '439401001', 'Diagnosis'),
        value: DIABETES.code,
      },
    },
    {
      name: 'Patients of ' + (provider.display ?? 'the first provider'),
      includes: (h) => h.gp % ctx.shared.providers.length === 0,
      managingEntity: provider,
    },
    // A sample of patients plus the diabetes group as a nested member: exporters must expand it.
    {
      name: 'Research sample with the diabetes cohort',
      includes: (h) => h.index % SAMPLE_EVERY === 0,
      nestedGroup: 2,
    },
    { name: 'Empty cohort', includes: () => false },
  ];
}

function buildGroup(
  ctx: GenContext,
  patients: number,
  spec: GroupSpec,
  ids: readonly string[],
  i: number,
): FhirResource {
  const member: { entity: Ref }[] = [];
  for (let index = 0; index < patients; index++) {
    const h = drawHeader(ctx, index);
    if (spec.includes(h)) member.push({ entity: ref('Patient', h.id) });
  }
  if (spec.nestedGroup !== undefined) member.push({ entity: ref('Group', ids[spec.nestedGroup]!) });
  const group: FhirResource = {
    resourceType: 'Group',
    id: ids[i]!,
    active: true,
    type: 'person',
    actual: true,
    name: spec.name,
    quantity: member.length,
  };
  if (spec.managingEntity !== undefined) group.managingEntity = spec.managingEntity;
  if (spec.characteristic !== undefined) {
    const { code, value } = spec.characteristic;
    group.characteristic = [{ code, valueCodeableConcept: value, exclude: false }];
  }
  if (member.length > 0) group.member = member;
  return group;
}

/** Yield the Groups one at a time; each re-draws patient headers instead of keeping a member list. */
export function* generateGroups(ctx: GenContext, patients: number): Generator<FhirResource> {
  const list = specs(ctx);
  if (list.length !== GROUP_COUNT) throw new TypeError('GROUP_COUNT is out of date');
  const idSource = new IdSource(new Prng(ctx.seed, GROUP_STREAM), 0, ctx.keys, GROUP_COUNTER_START);
  const ids = list.map(() => idSource.next());
  for (let i = 0; i < list.length; i++) yield buildGroup(ctx, patients, list[i]!, ids, i);
}
