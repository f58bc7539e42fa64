import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { generateResources, writeGenerated } from '../../src/generate/index.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fhirhose-gen-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('writeGenerated', () => {
  it('writes one NDJSON file per type holding exactly what generateResources yields', async (t) => {
    const dir = await tempDir(t);
    const { counts, files } = await writeGenerated({ patients: 12, seed: 2, outDir: dir });
    const expected = new Map<string, string>();
    for (const r of generateResources({ patients: 12, seed: 2 })) {
      expected.set(r.resourceType, (expected.get(r.resourceType) ?? '') + JSON.stringify(r) + '\n');
    }
    assert.deepEqual(Object.keys(counts), [...expected.keys()].sort());
    assert.deepEqual(
      files,
      Object.keys(counts).map((type) => join(dir, `${type}.ndjson`)),
    );
    for (const [type, text] of expected) {
      assert.equal(await readFile(join(dir, `${type}.ndjson`), 'utf8'), text);
      assert.equal(counts[type], text.split('\n').length - 1);
    }
    assert.deepEqual(
      (await readdir(dir)).sort(),
      files.map((f) => f.slice(dir.length + 1)),
    );
  });

  it('writes byte-identical files on a second run with the same options', async (t) => {
    const a = await tempDir(t);
    const b = await tempDir(t);
    const first = await writeGenerated({ patients: 8, seed: 4, outDir: a });
    await writeGenerated({ patients: 8, seed: 4, outDir: b });
    for (const file of first.files) {
      const name = file.slice(a.length + 1);
      assert.ok((await readFile(join(a, name))).equals(await readFile(join(b, name))), name);
    }
  });

  it('writes gzip files that decompress to the plain NDJSON', async (t) => {
    const plain = await tempDir(t);
    const zipped = await tempDir(t);
    await writeGenerated({ patients: 5, seed: 1, outDir: plain });
    const { files } = await writeGenerated({ patients: 5, seed: 1, outDir: zipped, gzip: true });
    assert.ok(files.every((f) => f.endsWith('.ndjson.gz')));
    const patients = gunzipSync(await readFile(join(zipped, 'Patient.ndjson.gz')));
    assert.ok(patients.equals(await readFile(join(plain, 'Patient.ndjson'))));
  });

  it('rejects invalid options before creating any file', async (t) => {
    const dir = join(await tempDir(t), 'never');
    await assert.rejects(writeGenerated({ patients: 1.5, seed: 1, outDir: dir }), TypeError);
    await assert.rejects(readdir(dir), { code: 'ENOENT' });
  });

  it('removes every partial file and rethrows when a file cannot be written', async (t) => {
    const dir = await tempDir(t);
    // A dangling symlink where Patient's partial file goes makes opening it fail with ENOENT.
    await symlink(join(dir, 'missing', 'target'), join(dir, 'Patient.ndjson.part'));
    await assert.rejects(writeGenerated({ patients: 20, seed: 1, outDir: dir }), { code: 'ENOENT' });
    assert.deepEqual(await readdir(dir), []);
  });
});
