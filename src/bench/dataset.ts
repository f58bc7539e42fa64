import { createReadStream, existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { patientsForResources, writeGenerated } from '../generate/index.js';

/** A generated data set on disk. */
export interface Dataset {
  dir: string;
  patients: number;
  resources: number;
  bytes: number;
  /** Resources per type. */
  counts: Record<string, number>;
  /** Seconds spent generating; 0 when an earlier run's files were reused. */
  seconds: number;
}

const SEED = 1;
// No .json suffix, so `fhirhose load` of the folder does not take it for a resource.
const MARKER = '.fhirhose-bench-dataset';

/**
 * Generate about `resources` resources into `dir` with the project's generator (seed 1), or reuse
 * the files an earlier bench left there for the same size.
 */
export async function ensureDataset(dir: string, resources: number): Promise<Dataset> {
  const patients = patientsForResources(resources);
  const marker = join(dir, MARKER);
  if (existsSync(marker)) {
    const saved = JSON.parse(await readFile(marker, 'utf8')) as Dataset;
    if (saved.patients === patients && saved.counts !== undefined) return { ...saved, seconds: 0 };
  }
  await rm(dir, { recursive: true, force: true });
  const started = performance.now();
  const { counts, files } = await writeGenerated({ patients, seed: SEED, outDir: dir });
  const seconds = (performance.now() - started) / 1000;
  let bytes = 0;
  for (const file of files) bytes += (await stat(file)).size;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const dataset: Dataset = { dir, patients, resources: total, bytes, counts, seconds };
  await writeFile(marker, JSON.stringify(dataset));
  return dataset;
}

/** The ids of the generated patients, in file order. */
export async function readPatientIds(dir: string): Promise<string[]> {
  const name = (await readdir(dir)).find((n) => n === 'Patient.ndjson');
  if (!name) throw new Error(`no Patient.ndjson in ${dir}`);
  const ids: string[] = [];
  const lines = createInterface({ input: createReadStream(join(dir, name)), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const { id } = JSON.parse(line) as { id?: unknown };
    if (typeof id === 'string') ids.push(id);
  }
  return ids;
}
