import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeGenerated } from '../../src/generate/index.js';

/** A folder of `Type.ndjson.gz` files that the data-driven suites load and check against. */
export interface DataSet {
  /** Shown in test names: `generated` or `synthea`. */
  readonly name: string;
  /** Folder holding one `Type.ndjson.gz` file per resource type, Group included. */
  readonly dir: string;
}

/** The shared Synthea sample, when this checkout sits beside ../shared (or where FHIRHOSE_TEST_SYNTHEA_DIR says). */
export const SYNTHEA_DIR =
  process.env.FHIRHOSE_TEST_SYNTHEA_DIR ??
  new URL('../../../../shared/data/synthea-100/', import.meta.url).pathname;

/** True when the Synthea sample is present. */
export const hasSynthea = existsSync(SYNTHEA_DIR);

/** Patients and seed of the generated set: 100 patients (about 5,600 resources), as many as the Synthea sample. */
const GENERATED = { patients: 100, seed: 16 } as const;

/**
 * The generated data set, written once per machine into the temporary folder and reused.
 * Several test processes may ask at once: each writes into a folder of its own and renames it into
 * place, so a reader never sees a half-written set (the generator is deterministic, so the loser's
 * copy is identical and simply removed).
 */
export async function generatedDataSet(): Promise<DataSet> {
  const dir = join(tmpdir(), `fhirhose-fixture-p${GENERATED.patients}-s${GENERATED.seed}`);
  if (!existsSync(dir)) {
    const part = mkdtempSync(`${dir}.part-`);
    try {
      await writeGenerated({ ...GENERATED, outDir: part, gzip: true });
      renameSync(part, dir);
    } catch (err) {
      rmSync(part, { recursive: true, force: true });
      if (!existsSync(dir)) throw err;
    }
  }
  return { name: 'generated', dir };
}

/**
 * Every data set the suites run on: the generated set always, so a checkout without ../shared tests
 * as much as CI, and the Synthea sample as well when it is present.
 */
export async function dataSets(): Promise<DataSet[]> {
  const sets = [await generatedDataSet()];
  if (hasSynthea) sets.push({ name: 'synthea', dir: SYNTHEA_DIR });
  return sets;
}

/** A resource of a data set, as read from its file. */
export interface DataSetResource {
  resourceType: string;
  id: string;
  [k: string]: unknown;
}

/** The resources of one type in a data set, in file order; none when the set has no file for it. */
export function readDataSet(set: DataSet, type: string): DataSetResource[] {
  const path = join(set.dir, `${type}.ndjson.gz`);
  if (!existsSync(path)) return [];
  return gunzipSync(readFileSync(path))
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as DataSetResource);
}

/** Resources per type in a data set and their total, counted from its files. */
export function countDataSet(set: DataSet): { total: number; byType: Map<string, number> } {
  const byType = new Map<string, number>();
  let total = 0;
  for (const name of readdirSync(set.dir)
    .filter((n) => n.endsWith('.ndjson.gz'))
    .sort()) {
    const type = name.slice(0, -'.ndjson.gz'.length);
    const n = readDataSet(set, type).length;
    byType.set(type, n);
    total += n;
  }
  return { total, byType };
}

/**
 * The patient ids of a Group, nested Groups flattened (a cycle ends), member references either
 * `Patient/id` or Synthea's `urn:uuid:id`: the test's own reading of the members, independent of the store.
 */
export function groupPatientIds(groups: readonly DataSetResource[], group: DataSetResource): string[] {
  const byId = new Map(groups.map((g) => [g.id, g]));
  const out = new Set<string>();
  const seen = new Set<string>();
  const walk = (g: DataSetResource): void => {
    if (seen.has(g.id)) return;
    seen.add(g.id);
    for (const m of (g.member ?? []) as { entity: { reference: string } }[]) {
      const ref = m.entity.reference;
      if (ref.startsWith('Group/')) {
        const inner = byId.get(ref.slice('Group/'.length));
        if (inner !== undefined) walk(inner);
      } else out.add(ref.replace(/^(urn:uuid:|Patient\/)/, ''));
    }
  };
  walk(group);
  return [...out];
}
