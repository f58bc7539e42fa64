// loadPaths against every backend.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadPaths } from '../../src/store/index.js';
import type { LoadProblem } from '../../src/store/index.js';
import { makeGroup, makeObservation, makePatient } from '../helpers/builders.js';
import { backends } from '../helpers/stores.js';
import type { Backend } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp.js';
import { currentJson, ndjson, suiteStores } from './loader-helpers.js';

function loaderTests(backend: Backend): void {
  const open = suiteStores(backend);

  test('stores each line as it was, with meta spliced in after resourceType', async (t) => {
    const dir = tempDir(t);
    const line = JSON.stringify(makePatient('p1'));
    writeFileSync(join(dir, 'Patient.ndjson'), `${line}\n`);
    const store = await open(t);
    await loadPaths(store, [dir]);
    const result = await store.read('Patient', 'p1');
    assert.ok(result.status === 'found');
    const instant = new Date(result.resource.lastUpdated).toISOString();
    const meta = `"meta":{"versionId":"1","lastUpdated":"${instant}"},`;
    assert.equal(result.resource.json, line.replace('"id"', `${meta}"id"`));
  });

  test('a reload of unchanged files makes no new version', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'Patient.ndjson'), ndjson([makePatient('p1'), makePatient('p2')]));
    writeFileSync(join(dir, 'Observation.ndjson'), ndjson([makeObservation('o1', 'p1')]));
    const store = await open(t);
    assert.equal((await loadPaths(store, [dir])).created, 3);
    const again = await loadPaths(store, [dir]);
    assert.deepEqual([again.created, again.updated, again.unchanged], [0, 0, 3]);
    assert.equal(
      ((await currentJson(store, 'Observation', 'o1')).meta as { versionId: string }).versionId,
      '1',
    );
  });

  test('a changed line makes a new version, keeps the old one, and moves the compartment', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'Observation.ndjson');
    writeFileSync(file, ndjson([makeObservation('o1', 'p1'), makeObservation('o2', 'p1')]));
    const store = await open(t);
    await loadPaths(store, [dir]);
    writeFileSync(file, ndjson([makeObservation('o1', 'p2'), makeObservation('o2', 'p1')]));
    const report = await loadPaths(store, [dir]);
    assert.deepEqual([report.created, report.updated, report.unchanged], [0, 1, 1]);
    assert.equal(
      ((await currentJson(store, 'Observation', 'o1')).meta as { versionId: string }).versionId,
      '2',
    );
    const old = await store.readVersion('Observation', 'o1', 1);
    assert.equal(
      (JSON.parse(old!.json) as { subject: { reference: string } }).subject.reference,
      'Patient/p1',
    );
    assert.deepEqual(await store.compartmentsOf('Observation', 'o1'), ['p2']);
  });

  test('two lines with one id in one batch are applied in file order', async (t) => {
    const dir = tempDir(t);
    const lines = [
      makeObservation('zz', 'p1'),
      makeObservation('o1', 'p1'),
      makeObservation('aa', 'p1'),
      makeObservation('o1', 'p2'),
      makeObservation('o1', 'p3'),
    ];
    writeFileSync(join(dir, 'Observation.ndjson'), ndjson(lines));
    const store = await open(t);
    const report = await loadPaths(store, [dir]);
    assert.deepEqual([report.created, report.updated], [3, 2]);
    const o1 = await currentJson(store, 'Observation', 'o1');
    assert.equal((o1.meta as { versionId: string }).versionId, '3');
    assert.equal((o1.subject as { reference: string }).reference, 'Patient/p3');
    assert.deepEqual(await store.compartmentsOf('Observation', 'o1'), ['p3']);
    assert.deepEqual(await store.compartmentsOf('Observation', 'zz'), ['p1']);
  });

  test('small batches keep the line numbers of rejected lines', async (t) => {
    const dir = tempDir(t);
    const good = (id: string): string => JSON.stringify(makePatient(id));
    const lines = [good('a'), good('b'), '{', good('c'), good('d'), good('e'), '[]', good('f')];
    writeFileSync(join(dir, 'Patient.ndjson'), lines.join('\n'));
    const store = await open(t);
    const problems: number[] = [];
    const report = await loadPaths(store, [dir], { batchSize: 2, onProblem: (p) => problems.push(p.line) });
    assert.deepEqual([report.created, report.rejected], [6, 2]);
    assert.deepEqual(problems, [3, 7]);
    assert.equal((await store.read('Patient', 'f')).status, 'found');
  });

  test('a line that carries meta is stored at the store version, keeping its other meta', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'Patient.ndjson');
    const meta = { versionId: '7', lastUpdated: '2020-01-01T00:00:00Z', source: 'elsewhere' };
    writeFileSync(file, ndjson([makePatient('p1', { meta })]));
    const store = await open(t);
    await loadPaths(store, [dir]);
    const stored = (await currentJson(store, 'Patient', 'p1')).meta as Record<string, string>;
    assert.equal(stored.versionId, '1');
    assert.equal(stored.source, 'elsewhere');
    assert.notEqual(stored.lastUpdated, meta.lastUpdated);
    writeFileSync(file, ndjson([makePatient('p1', { meta: { ...meta, versionId: '8' } })]));
    assert.equal((await loadPaths(store, [dir])).unchanged, 1);
  });

  test('a resource loaded again after its deletion continues its version numbers', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'Patient.ndjson'), ndjson([makePatient('p1'), makePatient('p2')]));
    const store = await open(t);
    await loadPaths(store, [dir]);
    assert.equal((await store.delete('Patient', 'p1'))?.versionId, 2);
    const report = await loadPaths(store, [dir]);
    assert.deepEqual([report.created, report.unchanged], [1, 1]);
    assert.equal(((await currentJson(store, 'Patient', 'p1')).meta as { versionId: string }).versionId, '3');
  });

  test('Group members are indexed, and replaced when the Group changes', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'Group.ndjson');
    writeFileSync(file, ndjson([makeGroup('g1', ['Patient/p1', 'Patient/p2'])]));
    const store = await open(t);
    await loadPaths(store, [dir]);
    assert.deepEqual((await store.groupPatients('g1')).sort(), ['p1', 'p2']);
    writeFileSync(file, ndjson([makeGroup('g1', ['Patient/p3'])]));
    await loadPaths(store, [dir]);
    assert.deepEqual(await store.groupPatients('g1'), ['p3']);
  });

  test('gzipped NDJSON loads like plain NDJSON', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'Patient.ndjson.gz'), gzipSync(ndjson([makePatient('p1'), makePatient('p2')])));
    const store = await open(t);
    assert.equal((await loadPaths(store, [dir])).created, 2);
  });

  test('line numbers and file order hold across many small chunks and workers', async (t) => {
    const dir = tempDir(t);
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) lines.push(JSON.stringify(makeObservation(`o${i % 7}`, `p${i}`)));
    lines.splice(10, 0, '{bad');
    lines.splice(30, 0, '');
    lines.splice(31, 0, '[1]');
    writeFileSync(join(dir, 'Observation.ndjson'), lines.join('\n') + '\n');
    const store = await open(t);
    const problems: number[] = [];
    const report = await loadPaths(store, [dir], {
      batchBytes: 300,
      workers: 3,
      onProblem: (p) => problems.push(p.line),
    });
    assert.deepEqual(problems, [11, 32]);
    assert.deepEqual([report.created, report.updated, report.rejected], [7, 33, 2]);
    // o6 was written last by the line of i = 34: patient p34.
    assert.deepEqual(await store.compartmentsOf('Observation', 'o6'), ['p34']);
    assert.deepEqual(await store.compartmentsOf('Observation', 'o4'), ['p39']);
  });

  test('rejects the lines a REST write refuses, each with its line and reason', async (t) => {
    const dir = tempDir(t);
    // Nesting `depth` levels deep, the resource itself being level 1.
    const nested = (id: string, depth: number): string =>
      `{"resourceType":"Patient","id":"${id}","extension":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    const lines: (string | Buffer)[] = [
      JSON.stringify(makePatient('good1')),
      '{"resourceType":"Observation","id":"o1","status":"final","code":null}',
      '{"resourceType":"Patient","id":"m1","meta":[]}',
      '{"resourceType":"Patient","id":"n1","name":[{"family":null}]}',
      Buffer.from([
        ...Buffer.from('{"resourceType":"Patient","id":"u1","name":[{"family":"'),
        0xff,
        0xfe,
        0x22,
        0x7d,
        0x5d,
        0x7d,
      ]),
      nested('deep5000', 5000),
      nested('deep101', 101),
      nested('deep100', 100),
      JSON.stringify(makePatient('good2')),
    ];
    const bytes = Buffer.concat(lines.flatMap((l) => [Buffer.from(l), Buffer.from('\n')]));
    writeFileSync(join(dir, 'all.ndjson'), bytes);
    const store = await open(t);
    const problems: LoadProblem[] = [];
    const report = await loadPaths(store, [dir], { onProblem: (p) => problems.push(p) });
    assert.deepEqual(
      problems.map((p) => [p.line, p.reason]),
      [
        [2, 'Observation.code is null; FHIR JSON omits empty elements'],
        [3, 'Patient.meta must be an object'],
        [4, 'Patient.name[0].family is null; FHIR JSON omits empty elements'],
        [5, 'invalid UTF-8: NDJSON and FHIR JSON are UTF-8 text'],
        [6, 'Patient is nested more than 100 levels deep'],
        [7, 'Patient is nested more than 100 levels deep'],
      ],
    );
    assert.deepEqual([report.created, report.rejected], [3, 6]);
    for (const id of ['m1', 'n1', 'u1', 'deep5000', 'deep101']) {
      assert.equal((await store.read('Patient', id)).status, 'missing', id);
    }
    assert.equal((await store.read('Observation', 'o1')).status, 'missing');
    for (const id of ['good1', 'deep100', 'good2'])
      assert.equal((await store.read('Patient', id)).status, 'found');
  });
}

for (const backend of backends()) {
  describe(`loadPaths into ${backend.name}`, { skip: backend.skip }, () => loaderTests(backend));
}
