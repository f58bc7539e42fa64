import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LocalDirStorage } from '../../src/storage/index.js';
import { tempDir } from '../helpers/temp.js';
import { storageContract } from './storage-contract.js';

describe('LocalDirStorage', () => {
  storageContract(async (t) => new LocalDirStorage(tempDir(t)));

  test('an aborted file leaves no .part file behind, even aborted right after its first write', async (t) => {
    const root = tempDir(t);
    const storage = new LocalDirStorage(root);
    for (const name of ['1.Patient.1.ndjson', '2.Patient.1.ndjson']) {
      const writer = await storage.createWriter('job1', name);
      if (name.startsWith('1.')) await writer.write('{"a":1}\n');
      await writer.abort();
    }
    assert.deepEqual(readdirSync(join(root, 'job1')), []);
  });

  test('a file has at most 3 chunks in flight, however small, and releases every one', async (t) => {
    const storage = new LocalDirStorage(tempDir(t));
    const writer = await storage.createWriter('job1', '1.Patient.1.ndjson');
    let released = 0;
    let mostInFlight = 0;
    // 64 KiB chunks: 16 fit under the stream's 1 MiB, so only the count stops the writer.
    const chunks = 40;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < chunks; i++) {
      await writer.write(chunk, () => (released += 1));
      mostInFlight = Math.max(mostInFlight, i + 1 - released);
    }
    const info = await writer.commit();
    // The third write waits for one of the three to complete: a caller never holds more than 2 after a write.
    assert.equal(mostInFlight, 2);
    assert.equal(released, chunks);
    assert.equal(info.bytes, chunks * chunk.length);
  });
});
