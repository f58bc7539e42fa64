import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makePatient } from '../helpers/builders.js';
import { tempDir } from '../helpers/temp.js';

const BIN = new URL('../../../bin/fhirhose.js', import.meta.url).pathname;

function fhirhose(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FHIRHOSE_DB: '' },
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('fhirhose load', () => {
  test('names a damaged gzip file and each bad Bundle entry, loads the rest, and exits 1', (t) => {
    const dir = tempDir(t);
    const gz = gzipSync(`${JSON.stringify(makePatient('z1'))}\n${JSON.stringify(makePatient('z2'))}\n`);
    gz[gz.length - 8] = (gz[gz.length - 8] as number) ^ 1;
    const damaged = join(dir, 'a.ndjson.gz');
    writeFileSync(damaged, gz);
    const bundle = join(dir, 'b.json');
    const entry = [{ resource: makePatient('b1') }, { resource: { resourceType: 'Nonsense', id: 'x' } }];
    writeFileSync(bundle, JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry }));
    writeFileSync(join(dir, 'c.ndjson'), `${JSON.stringify(makePatient('c1'))}\n`);
    const r = fhirhose(['load', '--quiet', '--db', join(dir, 'store.db'), dir]);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `${damaged}: damaged gzip file (incorrect data check): nothing from this file was loaded`,
      `${bundle} entry[1]: unknown resourceType 'Nonsense'`,
    ]);
    assert.match(r.stdout, /^loaded 2 resources from 3 files .* 2 created, .* 2 rejected\n$/);
  });
});
