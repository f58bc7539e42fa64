import { REF_DAY } from './dates.js';
import { IdSource } from './ids.js';
import { Prng } from './prng.js';
import type { SharedRefs } from './shared.js';

/** What every part of the generator needs: the seed, the id keys, and the shared resources. */
export interface GenContext {
  readonly seed: number;
  readonly keys: readonly number[];
  readonly shared: SharedRefs;
}

/**
 * The first draws of a patient's PRNG stream: identity and the attributes that groups select on.
 * Drawing them again later yields the same values, so groups are built without keeping a list of
 * every patient in memory.
 */
export interface PatientHeader {
  readonly index: number;
  readonly prng: Prng;
  readonly ids: IdSource;
  readonly id: string;
  readonly female: boolean;
  readonly birthDay: number;
  /** Index into `shared.practitioners`; the provider organization is `gp % providers.length`. */
  readonly gp: number;
  readonly payer: number;
  readonly diabetic: boolean;
  readonly hypertensive: boolean;
}

/** Draw patient `index`'s header from its own PRNG stream. */
export function drawHeader(ctx: GenContext, index: number): PatientHeader {
  const prng = new Prng(ctx.seed, index + 1);
  const ids = new IdSource(prng, index + 1, ctx.keys);
  const id = ids.next();
  const female = prng.chance(0.51);
  const age = prng.int(18, 90);
  const birthDay = REF_DAY - age * 365 - prng.int(0, 364);
  const gp = prng.int(0, ctx.shared.practitioners.length - 1);
  const payer = prng.int(0, ctx.shared.payers.length - 1);
  // Patient 0 is always diabetic, so the diabetes group (nested in another) is never empty.
  const diabetic = prng.chance(0.04 + age * 0.0015) || index === 0;
  const hypertensive = prng.chance(0.05 + age * 0.004);
  return { index, prng, ids, id, female, birthDay, gp, payer, diabetic, hypertensive };
}
