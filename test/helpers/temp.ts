import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory, removed when `t.after` runs. */
export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fhirhose-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
