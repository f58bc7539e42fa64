// A gzip file proves itself only at its end (CRC-32 and length, RFC 1952 §2.3): the loader checks it
// whole first, so a damaged one loads nothing, on every backend.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadPaths } from '../../src/store/index.js';
import type { LoadProblem } from '../../src/store/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { backends } from '../helpers/stores.js';
import type { Backend } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp.js';
import { currentJson, ndjson, suiteStores } from './loader-helpers.js';

/** Damage done to a gzip file; the trailer is its last 8 bytes (CRC-32, then length). */
const DAMAGES: { name: string; damage: (gz: Buffer) => Buffer }[] = [
  { name: '64 bytes flipped in the middle', damage: (gz) => flip(gz, gz.length >> 1, 64) },
  { name: 'the last compressed bytes flipped', damage: (gz) => flip(gz, gz.length - 8 - 32, 32) },
  { name: 'a wrong CRC-32 in the trailer', damage: (gz) => flip(gz, gz.length - 8, 1) },
  { name: 'a wrong length in the trailer', damage: (gz) => flip(gz, gz.length - 1, 1) },
  { name: 'its trailer cut short', damage: (gz) => gz.subarray(0, gz.length - 5) },
  { name: 'its second half missing', damage: (gz) => gz.subarray(0, gz.length >> 1) },
];

function flip(gz: Buffer, at: number, bytes: number): Buffer {
  const out = Buffer.from(gz);
  for (let i = at; i < at + bytes; i++) out[i] = (out[i] as number) ^ 0xff;
  return out;
}

/** Text that does not compress away, so the file spans many batches. */
const noise = (i: number): string => createHash('sha256').update(String(i)).digest('hex').repeat(3);

const PATIENTS = 1000;

function gzipTests(backend: Backend): void {
  const open = suiteStores(backend);

  for (const { name, damage } of DAMAGES) {
    test(`a gzip file with ${name} commits nothing and the other files load`, async (t) => {
      const store = await open(t);
      const first = tempDir(t);
      const good = Array.from({ length: PATIENTS }, (_, i) => makePatient(`p${i}`, { gender: 'female' }));
      writeFileSync(join(first, 'Patient.ndjson'), ndjson(good));
      assert.equal((await loadPaths(store, [first])).created, PATIENTS);

      const dir = tempDir(t);
      writeFileSync(join(dir, 'Observation.ndjson.gz'), gzipSync(ndjson([makeObservation('o1', 'p1')])));
      // Changed versions of the loaded Patients, then new ones.
      const changed = Array.from({ length: 2 * PATIENTS }, (_, i) =>
        makePatient(`p${i}`, { gender: 'other', text: { status: 'generated', div: noise(i) } }),
      );
      const damaged = join(dir, 'Patient.ndjson.gz');
      writeFileSync(damaged, damage(gzipSync(ndjson(changed))));
      writeFileSync(
        join(dir, 'Practitioner.ndjson.gz'),
        gzipSync(ndjson([{ resourceType: 'Practitioner', id: 'd1' }])),
      );
      const problems: LoadProblem[] = [];
      const report = await loadPaths(store, [dir], { batchBytes: 4096, onProblem: (p) => problems.push(p) });

      assert.equal(problems.length, 1, JSON.stringify(problems.slice(0, 3)));
      assert.equal(problems[0]!.file, damaged);
      assert.equal(problems[0]!.line, 0);
      assert.match(problems[0]!.reason, /^damaged gzip file \(.+\): nothing from this file was loaded$/);
      assert.deepEqual([report.created, report.updated, report.rejected], [2, 0, 1]);
      assert.equal(await store.count('Patient'), PATIENTS);
      for (const id of ['p0', `p${PATIENTS - 1}`]) {
        const patient = await currentJson(store, 'Patient', id);
        assert.equal(patient.gender, 'female');
        assert.equal((patient.meta as { versionId: string }).versionId, '1');
        assert.equal(await store.readVersion('Patient', id, 2), undefined);
      }
      assert.equal((await store.read('Patient', `p${PATIENTS}`)).status, 'missing');
      assert.equal((await store.read('Observation', 'o1')).status, 'found');
      assert.equal((await store.read('Practitioner', 'd1')).status, 'found');
    });
  }
}

for (const backend of backends()) {
  describe(`loading damaged gzip into ${backend.name}`, { skip: backend.skip }, () => gzipTests(backend));
}
