import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Runs from dist/test/docs/; the TypeScript sources and docs are three levels up.
const SRC = fileURLToPath(new URL('../../../src', import.meta.url));
const DOC = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8');
const NAME_RE = /FHIRHOSE_[A-Z0-9_]+/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `FHIRHOSE_*` setting names in `text`; `FHIRHOSE_ERR_*` are error codes, documented in docs/errors.md. */
function settingNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [match] of text.matchAll(NAME_RE)) {
    const name = match.replace(/_+$/, '');
    if (name !== 'FHIRHOSE' && !name.startsWith('FHIRHOSE_ERR_')) names.add(name);
  }
  return names;
}

const inSource = new Set(sources(SRC).flatMap((file) => [...settingNames(readFileSync(file, 'utf8'))]));

describe('docs/config.md', () => {
  test('finds the settings in the sources', () => {
    assert.ok(inSource.has('FHIRHOSE_FILE_MAX_BYTES'), `scanned ${SRC}`);
  });

  test('documents every FHIRHOSE_* variable the sources read', () => {
    const missing = [...inSource].filter((name) => !DOC.includes(`\`${name}\``)).sort();
    assert.deepEqual(missing, [], `variables missing from docs/config.md: ${missing.join(', ')}`);
  });

  test('documents no variable the sources no longer read, test-only ones apart', () => {
    const [served = ''] = DOC.split('## Test-only variables');
    const stale = [...settingNames(served)].filter((name) => !inSource.has(name)).sort();
    assert.deepEqual(stale, [], `variables in docs/config.md that src/ does not use: ${stale.join(', ')}`);
  });
});
