import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PooledFileReader } from '../../src/storage/pooled-file-reader.js';
import { tempDir } from '../helpers/temp.js';

/** A file of `size` bytes, each byte its offset modulo 251, so any misplaced chunk shows. */
function sample(dir: string, size: number): { path: string; bytes: Buffer } {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  const path = join(dir, 'f.ndjson');
  writeFileSync(path, bytes);
  return { path, bytes };
}

describe('PooledFileReader', () => {
  test('released chunks are read into again: a whole file through at most 4 buffers', async (t) => {
    const { path, bytes } = sample(tempDir(t), 100_000);
    const reader = new PooledFileReader(path, undefined, 1000);
    const parts: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    for await (const chunk of reader as AsyncIterable<Buffer>) {
      // A copy, since the buffer is read into again once released.
      parts.push(Buffer.from(chunk));
      memory.add(chunk.buffer);
      reader.release(chunk);
    }
    assert.deepEqual(Buffer.concat(parts), bytes);
    assert.ok(memory.size <= 4, `${memory.size} buffers`);
  });

  test('chunks not released keep their bytes: past 4 buffers each read gets a new one', async (t) => {
    const { path, bytes } = sample(tempDir(t), 10_000);
    const reader = new PooledFileReader(path, { start: 1234, end: 8765 }, 1000);
    const chunks: Buffer[] = [];
    for await (const chunk of reader as AsyncIterable<Buffer>) chunks.push(chunk);
    assert.deepEqual(Buffer.concat(chunks), bytes.subarray(1234, 8766));
    assert.equal(new Set(chunks.map((c) => c.buffer)).size, chunks.length);
  });

  test('a missing file fails the stream', async (t) => {
    const reader = new PooledFileReader(join(tempDir(t), 'none'), undefined, 1000);
    await assert.rejects(async () => {
      for await (const _ of reader) assert.fail('no chunk expected');
    }, /ENOENT/);
  });
});
