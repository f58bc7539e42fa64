import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ESLint } from 'eslint';

// Runs from dist/test/lint/, so the repository root is three levels up; the fixtures are read from the
// source tree (tsc does not copy them, and they would not compile where they lie).
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = join(ROOT, 'test/fixtures/lint');
const LAYER_RULES = new Set(['@typescript-eslint/no-restricted-imports', 'no-restricted-properties']);

const eslint = new ESLint({ cwd: ROOT });

/** The layer-rule messages ESLint reports for `code` linted as if it were the file `claimedPath`. */
async function layerProblems(code: string, claimedPath: string): Promise<{ ruleId: string; line: number }[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, claimedPath) });
  assert.ok(result, `ESLint linted ${claimedPath}`);
  const fatal = result.messages.find((m) => m.fatal);
  assert.equal(fatal, undefined, `${claimedPath} parses: ${fatal?.message}`);
  return result.messages
    .filter((m) => m.ruleId !== null && LAYER_RULES.has(m.ruleId))
    .map((m) => ({ ruleId: m.ruleId!, line: m.line }));
}

/** A fixture and what its header says: the file it stands for and the rule it must break ('none'). */
function fixture(name: string): { code: string; claimedPath: string; expect: string } {
  const code = readFileSync(join(FIXTURES, name), 'utf8');
  const claimedPath = /^\/\/ lint as: (\S+)$/m.exec(code)?.[1];
  const expect = /^\/\/ expect: (\S+)$/m.exec(code)?.[1];
  assert.ok(claimedPath && expect, `${name} starts with '// lint as:' and '// expect:' lines`);
  return { code, claimedPath, expect };
}

/** The cells of a Markdown table row, trimmed, without the outer pipes. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());
}

/** docs/architecture.md's import table: each src folder and the folders it may import. */
function documentedLayers(): Map<string, string[]> {
  const lines = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8').split('\n');
  const headerAt = lines.findIndex((l) => l.startsWith('| folder | may import'));
  assert.ok(headerAt >= 0, "docs/architecture.md has a table headed '| folder | may import'");
  const layers = new Map<string, string[]>();
  for (let i = headerAt + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const [folder, allowed] = cells(lines[i]!);
    const name = /^`src\/([a-z]+)`$/.exec(folder ?? '')?.[1];
    assert.ok(name && allowed !== undefined, `row ${i + 1} names a folder as \`src/<name>\``);
    layers.set(name, allowed === 'nothing' ? [] : allowed.split(',').map((s) => s.trim()));
  }
  return layers;
}

describe('layer rules in eslint.config.js', () => {
  for (const name of readdirSync(FIXTURES).sort()) {
    const { code, claimedPath, expect } = fixture(name);
    const title =
      expect === 'none'
        ? `accepts ${name} as ${claimedPath}`
        : `reports ${name} as ${claimedPath} under ${expect}`;
    test(title, async () => {
      const rules = (await layerProblems(code, claimedPath)).map((p) => p.ruleId);
      assert.deepEqual(rules, expect === 'none' ? [] : [expect]);
    });
  }

  test('the fixtures include broken layers and allowed imports', () => {
    const expects = readdirSync(FIXTURES).map((n) => fixture(n).expect);
    assert.ok(expects.includes('none'));
    assert.ok(expects.includes('@typescript-eslint/no-restricted-imports'));
    assert.ok(expects.includes('no-restricted-properties'));
  });

  test('docs/architecture.md has a row for every folder of src/', () => {
    const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    assert.deepEqual([...documentedLayers().keys()].sort(), folders);
  });

  // One probe per folder imports every other folder's index.js, one per line: exactly the lines of the
  // folders the doc's table does not allow must be reported, so the table and the config cannot drift.
  test('reports exactly the imports docs/architecture.md does not allow', async () => {
    const layers = documentedLayers();
    for (const [folder, allowed] of layers) {
      const others = [...layers.keys()].filter((f) => f !== folder);
      const code = others.map((o, i) => `import * as m${i} from '../${o}/index.js';\n`).join('');
      const used = `export const all = [${others.map((_, i) => `m${i}`).join(', ')}];\n`;
      const reported = new Set(
        (await layerProblems(code + used, `src/${folder}/probe.ts`)).map((p) => p.line),
      );
      const banned = others.filter((_, i) => reported.has(i + 1));
      assert.deepEqual(
        banned,
        others.filter((o) => !allowed.includes(o)),
        `src/${folder}: banned imports as linted vs as documented`,
      );
    }
  });
});
