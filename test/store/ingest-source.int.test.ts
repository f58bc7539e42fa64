// preparedEvents on real worker threads and real files: batches are bounded by bytes as well as by
// rows, and bounding them changes only how the rows are cut, not which rows come out or in what order.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkBytesFor, preparedEvents } from '../../src/store/ingest-source.js';
import { preparedRows } from '../../src/store/prepared-batch.js';
import type { PreparedRow } from '../../src/store/prepared-row.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { tempDir } from '../helpers/temp.js';
import { ndjson } from './loader-helpers.js';

const KIB = 1024;

/** Every batch of a load of `files`: its row count, JSON bytes and rows. */
async function batchesOf(
  files: string[],
  batchBytes: number,
  // By default one chunk holds the whole file, so only the batch bound can cut it.
  chunkBytes = 16 * 1024 * KIB,
  workers = 2,
): Promise<{ rows: number; bytes: number; prepared: PreparedRow[] }[]> {
  const out: { rows: number; bytes: number; prepared: PreparedRow[] }[] = [];
  const events = preparedEvents({
    files,
    batchRows: 50_000,
    batchBytes,
    chunkBytes,
    workers,
    sortByKey: false,
  });
  for await (const event of events) {
    if (event.kind === 'batch') {
      // Copied now: a batch's buffers go back to its worker when the next event is asked for.
      const { batch } = event;
      out.push({ rows: batch.rows, bytes: batch.json.byteLength, prepared: preparedRows(batch) });
    }
  }
  return out;
}

describe('preparedEvents', () => {
  test('a few huge resources make more, smaller batches, each at most one resource past the bound', async (t) => {
    const dir = tempDir(t);
    const note = (i: number): string => String.fromCharCode(97 + i).repeat(300 * KIB);
    const huge = Array.from({ length: 6 }, (_, i) =>
      makeObservation(`big${i}`, 'p1', { note: [{ text: note(i) }] }),
    );
    const file = join(dir, 'Observation.ndjson');
    writeFileSync(file, ndjson([makePatient('p1'), ...huge, makePatient('p2')]));

    const unbounded = await batchesOf([file], 64 * 1024 * KIB);
    const bounded = await batchesOf([file], 500 * KIB);

    assert.deepEqual(
      unbounded.map((b) => b.rows),
      [8],
    );
    // p1 and big0 stay under 500 KiB; big1 takes the batch past it, and so on by twos.
    assert.deepEqual(
      bounded.map((b) => b.rows),
      [3, 2, 2, 1],
    );
    for (const b of bounded.slice(0, -1)) {
      assert.ok(b.bytes >= 500 * KIB, `a batch of ${b.bytes} bytes ended before the bound`);
      assert.ok(
        b.bytes < 500 * KIB + 310 * KIB,
        `a batch of ${b.bytes} bytes ran more than a resource past it`,
      );
    }
    // The same rows, in the same order, with the same stored bytes and index entries.
    assert.deepEqual(
      bounded.flatMap((b) => b.prepared),
      unbounded.flatMap((b) => b.prepared),
    );
  });

  test('chunks read at chunkBytesFor the bound make one batch each, not a full one and a small tail', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'Observation.ndjson');
    // About 12 MiB of resources of about 1 KiB, as in the generated data sets (1.3 KiB on average).
    const note = [{ text: 'n'.repeat(800) }];
    const resources = Array.from({ length: 12_000 }, (_, i) =>
      makeObservation(`o${i}`, `p${i % 97}`, { note }),
    );
    writeFileSync(file, ndjson(resources));
    const batchBytes = 4 * 1024 * KIB;
    for (const workers of [1, 2]) {
      const batches = await batchesOf([file], batchBytes, chunkBytesFor(batchBytes), workers);
      assert.equal(
        batches.reduce((n, b) => n + b.rows, 0),
        12_000,
      );
      assert.ok(batches.length >= 3, `${batches.length} batches: the file should span several chunks`);
      for (const b of batches.slice(0, -1)) {
        assert.ok(b.bytes >= batchBytes / 2, `a batch of ${b.bytes} bytes is the tail of a split chunk`);
      }
    }
  });

  test('small resources stay in one batch per chunk when the byte bound is not reached', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'Patient.ndjson');
    writeFileSync(file, ndjson(Array.from({ length: 50 }, (_, i) => makePatient(`p${i}`))));
    const batches = await batchesOf([file], 4 * 1024 * KIB);
    assert.deepEqual(
      batches.map((b) => b.rows),
      [50],
    );
  });
});
