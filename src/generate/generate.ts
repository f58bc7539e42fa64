import type { FhirResource } from '../fhir/index.js';
import { GROUP_COUNT, generateGroups } from './groups.js';
import type { GenContext } from './header.js';
import { idKeys } from './ids.js';
import { buildPatientRecord } from './record.js';
import { buildShared, SHARED_COUNT } from './shared.js';

/** Options of `generateResources`. */
export interface GenerateOptions {
  /** Number of patients, each with a full record. */
  readonly patients: number;
  /** PRNG seed: a non-negative safe integer. The same options always give the same resources. */
  readonly seed: number;
}

/** Mean resources per patient record, measured over 100,000 patients (seed 1). */
export const RESOURCES_PER_PATIENT = 56.18;
/** Upper bound on patients: patient streams and id blocks are 32-bit. */
export const MAX_PATIENTS = 1_000_000_000;

function checkOptions(options: GenerateOptions): void {
  const { patients, seed } = options;
  if (!Number.isSafeInteger(patients) || patients < 0 || patients > MAX_PATIENTS) {
    throw new TypeError(`patients must be an integer from 0 to ${MAX_PATIENTS}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new TypeError('seed must be a non-negative safe integer');
}

/** Expected number of resources generated for `patients` patients (shared resources and groups included). */
export function estimateResources(patients: number): number {
  return SHARED_COUNT + GROUP_COUNT + Math.round(patients * RESOURCES_PER_PATIENT);
}

/** Number of patients whose records add up to about `resources` resources in total (at least 1). */
export function patientsForResources(resources: number): number {
  return Math.max(1, Math.round((resources - SHARED_COUNT - GROUP_COUNT) / RESOURCES_PER_PATIENT));
}

/**
 * Generate a deterministic, referentially closed synthetic FHIR R4 data set, streaming:
 * shared resources first (Organizations, Locations, Practitioners, Medications), then each
 * patient's record, then the Groups. Only one patient's record is held at a time.
 * Yielded resources may share frozen sub-objects (codes, references): copy before mutating.
 * @param options - patient count and seed
 * @throws TypeError when `patients` or `seed` is not a non-negative integer in range
 */
export function generateResources(options: GenerateOptions): Generator<FhirResource, void, undefined> {
  checkOptions(options);
  return generate(options.patients, options.seed);
}

function* generate(patients: number, seed: number): Generator<FhirResource, void, undefined> {
  const keys = idKeys(seed);
  const shared = buildShared(seed, keys);
  const ctx: GenContext = { seed, keys, shared: shared.refs };
  yield* shared.resources;
  for (let index = 0; index < patients; index++) yield* buildPatientRecord(ctx, index);
  yield* generateGroups(ctx, patients);
}
