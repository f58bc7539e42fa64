import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BATCH_BYTES, FileSink } from '../../src/client/file-sink.js';
import { tempDir } from '../helpers/temp.js';

/** Chunks of varied sizes with distinct bytes, so a lost or reordered chunk shows. */
function chunks(total: number): Buffer[] {
  const out: Buffer[] = [];
  let n = 0;
  for (let i = 0; n < total; i++) {
    const size = Math.min(total - n, [65_536, 1, 30_000, 200_000][i % 4] as number);
    out.push(Buffer.alloc(size, i % 251));
    n += size;
  }
  return out;
}

describe('FileSink', () => {
  test('writes every chunk in order across many batches', async (t) => {
    const path = join(tempDir(t), 'f.part');
    const parts = chunks(BATCH_BYTES * 5 + 12_345);
    const sink = new FileSink(path, { flags: 'w' });
    await pipeline(Readable.from(parts), sink);
    await sink.fileClosed;
    assert.deepEqual(readFileSync(path), Buffer.concat(parts));
  });

  test('appends to what an earlier attempt left', async (t) => {
    const path = join(tempDir(t), 'f.part');
    writeFileSync(path, 'head:');
    const sink = new FileSink(path, { flags: 'a' });
    await pipeline(Readable.from([Buffer.from('tail')]), sink);
    await sink.fileClosed;
    assert.equal(readFileSync(path, 'utf8'), 'head:tail');
  });

  test('keeps every byte it took when the download breaks, so a resume asks for exactly the rest', async (t) => {
    const path = join(tempDir(t), 'f.part');
    const parts = chunks(BATCH_BYTES + 300_000);
    async function* breaking(): AsyncGenerator<Buffer> {
      yield* parts;
      throw new Error('connection reset');
    }
    const sink = new FileSink(path, { flags: 'w' });
    await assert.rejects(pipeline(breaking(), sink), /connection reset/);
    await sink.fileClosed;
    assert.deepEqual(readFileSync(path), Buffer.concat(parts));
  });

  test('fails the stream at the chunk its inspector rejects, keeping only the chunks before it', async (t) => {
    const path = join(tempDir(t), 'f.part');
    const seen: string[] = [];
    const sink = new FileSink(path, {
      flags: 'w',
      inspect: (chunk) => {
        if (chunk.toString() === 'bad') throw new Error('bad chunk');
        seen.push(chunk.toString());
      },
    });
    const parts = ['one,', 'two,', 'bad', 'three'].map((p) => Buffer.from(p));
    await assert.rejects(pipeline(Readable.from(parts), sink), /bad chunk/);
    await sink.fileClosed;
    assert.deepEqual(seen, ['one,', 'two,']);
    assert.equal(readFileSync(path, 'utf8'), 'one,two,');
  });

  test('fails the pipeline when the file cannot be opened', async (t) => {
    const sink = new FileSink(join(tempDir(t), 'missing', 'f.part'), { flags: 'w' });
    await assert.rejects(pipeline(Readable.from([Buffer.from('x')]), sink), { code: 'ENOENT' });
    await sink.fileClosed;
  });
});
