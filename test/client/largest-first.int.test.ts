import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BulkDataClient } from '../../src/client/index.js';
import { largestFirst } from '../../src/client/export-runner.js';
import type { FileRecord } from '../../src/client/index.js';
import { tempDir } from '../helpers/temp.js';
import { startFaultServer } from './fault-server.js';
import type { FaultFile } from './fault-server.js';
import { FAST_WAITS, ndjson } from './helpers.js';

const FILES: FaultFile[] = [
  { name: 'small.ndjson', type: 'Patient', body: ndjson('Patient', 3), count: true },
  { name: 'nocount.ndjson', type: 'Condition', body: ndjson('Condition', 40) },
  { name: 'big.ndjson', type: 'Observation', body: ndjson('Observation', 300), count: true },
  { name: 'mid.ndjson', type: 'Encounter', body: ndjson('Encounter', 30), count: true },
  { name: 'mid2.ndjson', type: 'Procedure', body: ndjson('Procedure', 30), count: true },
];

describe('download order', () => {
  test('largestFirst sorts by count, stable, files without a count last', () => {
    const rec = (path: string, count?: number): FileRecord => ({
      kind: 'output',
      url: `http://x/${path}`,
      path,
      ...(count !== undefined ? { count } : {}),
    });
    const files = [rec('a', 1), rec('b'), rec('c', 9), rec('d', 5), rec('e', 5), rec('f', 0)];
    assert.deepEqual(
      largestFirst(files).map((f) => f.path),
      ['c', 'd', 'e', 'a', 'f', 'b'],
    );
    assert.deepEqual(
      files.map((f) => f.path),
      ['a', 'b', 'c', 'd', 'e', 'f'],
      'the input is not reordered',
    );
  });

  test('one download at a time fetches the biggest file first and every file intact', async (t) => {
    const server = await startFaultServer(t, { files: FILES });
    const client = new BulkDataClient(server.baseUrl, { waits: FAST_WAITS });
    t.after(() => client.close());
    const summary = await client.export(
      { level: 'system', params: {} },
      { outDir: join(tempDir(t), 'out'), parallel: 1 },
    );
    assert.equal(summary.ok, true);
    assert.equal(summary.resources, 403);
    const order = server.seen.filter((s) => s.url.startsWith('/files/')).map((s) => s.url);
    assert.deepEqual(order, [
      '/files/big.ndjson',
      '/files/mid.ndjson',
      '/files/mid2.ndjson',
      '/files/small.ndjson',
      '/files/nocount.ndjson',
    ]);
  });
});
