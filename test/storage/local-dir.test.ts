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
});
