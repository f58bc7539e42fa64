import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

/** A fresh temporary directory, removed when `t.after` runs. */
export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fhirhose-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The shared Synthea sample, when this checkout sits beside ../shared. */
export const SYNTHEA_DIR = new URL('../../../../shared/data/synthea-100/', import.meta.url).pathname;

/** True when the Synthea sample is present. */
export const hasSynthea = existsSync(SYNTHEA_DIR);
