// Files holding one JSON document: a resource, or a Bundle whose good entries load unless it is a
// transaction (R4 http.html#transaction: all-or-nothing). On every backend.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describeProblem, loadPaths } from '../../src/store/index.js';
import type { LoadProblem, ResourceStore } from '../../src/store/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { backends } from '../helpers/stores.js';
import type { Backend } from '../helpers/stores.js';
import { tempDir } from '../helpers/temp.js';
import { currentJson, suiteStores } from './loader-helpers.js';

const PID = '11111111-2222-3333-4444-555555555555';

/** Entries 0, 2 and 5 are good (2 refers to 0 by its urn:uuid); the others are each bad in a way. */
const MIXED_ENTRIES = [
  { fullUrl: `urn:uuid:${PID}`, resource: { resourceType: 'Patient' } },
  { resource: { resourceType: 'Nonsense', id: 'x' } },
  { resource: makeObservation('o1', 'unused', { subject: { reference: `urn:uuid:${PID}` } }) },
  { fullUrl: 'urn:uuid:aaaaaaaa-2222-3333-4444-555555555555' },
  { request: { method: 'DELETE', url: 'Patient' } },
  { resource: makePatient('b2') },
];

const MIXED_PROBLEMS = [
  "bundle.json entry[1]: unknown resourceType 'Nonsense'",
  'bundle.json entry[3]: the entry has no resource',
  'bundle.json entry[4]: a DELETE entry needs request.url Type/id',
];

function jsonFileTests(backend: Backend): void {
  const open = suiteStores(backend);
  const load = async (store: ResourceStore, file: string) => {
    const problems: LoadProblem[] = [];
    const report = await loadPaths(store, [file], { onProblem: (p) => problems.push(p) });
    return { report, problems: problems.map((p) => describeProblem(p).replace(file, basename(file))) };
  };

  for (const type of ['batch', 'collection']) {
    test(`loads the good entries of a ${type} Bundle and reports each bad one by its index`, async (t) => {
      const file = join(tempDir(t), 'bundle.json');
      writeFileSync(file, JSON.stringify({ resourceType: 'Bundle', type, entry: MIXED_ENTRIES }));
      const store = await open(t);
      const { report, problems } = await load(store, file);
      assert.deepEqual(problems, MIXED_PROBLEMS);
      assert.deepEqual([report.created, report.rejected], [3, 3]);
      const o1 = await currentJson(store, 'Observation', 'o1');
      assert.equal((o1.subject as { reference: string }).reference, `Patient/${PID}`);
      assert.equal((await store.read('Patient', 'b2')).status, 'found');
    });
  }

  test('checks each Bundle entry as a REST create would', async (t) => {
    const file = join(tempDir(t), 'bundle.json');
    const deep = JSON.parse(`${'['.repeat(200)}${']'.repeat(200)}`) as unknown;
    const entry = [
      { resource: makePatient('c1') },
      { resource: makeObservation('o2', 'c1', { code: null }) },
      { resource: makePatient('deep', { extension: deep }) },
      { resource: makePatient('m1', { meta: [] }) },
    ];
    writeFileSync(file, JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry }));
    const store = await open(t);
    const { report, problems } = await load(store, file);
    assert.deepEqual(problems, [
      'bundle.json entry[1]: Observation.code is null; FHIR JSON omits empty elements',
      'bundle.json entry[2]: Patient is nested more than 100 levels deep',
      'bundle.json entry[3]: Patient.meta must be an object',
    ]);
    assert.deepEqual([report.created, report.rejected], [1, 3]);
    assert.equal(await store.count('Patient'), 1);
  });

  test('a transaction Bundle with a bad entry loads none of its entries and says why', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'before.ndjson'), `${JSON.stringify(makePatient('kept'))}\n`);
    const store = await open(t);
    await loadPaths(store, [join(dir, 'before.ndjson')]);
    const file = join(dir, 'bundle.json');
    const entry = [
      { resource: makePatient('t1') },
      { request: { method: 'DELETE', url: 'Patient/kept' } },
      { resource: { resourceType: 'Nonsense', id: 'x' } },
    ];
    writeFileSync(file, JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }));
    const { report, problems } = await load(store, file);
    assert.deepEqual(problems, [
      "bundle.json entry[2]: unknown resourceType 'Nonsense'",
      'bundle.json: transaction Bundle not loaded: 1 of its 3 entries cannot be loaded, and a transaction is all-or-nothing',
    ]);
    assert.deepEqual([report.created, report.deleted, report.rejected], [0, 0, 2]);
    assert.equal((await store.read('Patient', 't1')).status, 'missing');
    assert.equal((await store.read('Patient', 'kept')).status, 'found');
  });

  test('a damaged gzip Bundle loads nothing', async (t) => {
    const file = join(tempDir(t), 'bundle.json.gz');
    const entry = [{ resource: makePatient('g1') }, { resource: makePatient('g2') }];
    const gz = gzipSync(JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry }));
    gz[gz.length - 8] = (gz[gz.length - 8] as number) ^ 1;
    writeFileSync(file, gz);
    const store = await open(t);
    const { report, problems } = await load(store, file);
    assert.equal(problems.length, 1);
    assert.match(
      problems[0]!,
      /^bundle\.json\.gz: damaged gzip file \(.+\): nothing from this file was loaded$/,
    );
    assert.deepEqual([report.created, report.rejected], [0, 1]);
  });

  test('a file of one resource is checked as an NDJSON line is', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'a.json'), JSON.stringify(makePatient('a', { meta: [] })));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(makePatient('b')));
    const store = await open(t);
    const problems: string[] = [];
    const report = await loadPaths(store, [dir], { onProblem: (p) => problems.push(describeProblem(p)) });
    assert.deepEqual(problems, [`${join(dir, 'a.json')}: Patient.meta must be an object`]);
    assert.deepEqual([report.created, report.rejected], [1, 1]);
  });
}

for (const backend of backends()) {
  describe(`loading JSON files into ${backend.name}`, { skip: backend.skip }, () => jsonFileTests(backend));
}
