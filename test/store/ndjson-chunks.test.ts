import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NdjsonChunkFiller } from '../../src/store/ndjson-chunks.js';

const row = (text: string): Buffer => Buffer.from(text);

describe('NdjsonChunkFiller', () => {
  test('a chunk keeps its bytes until it is released, then its buffer is filled again', () => {
    const filler = new NdjsonChunkFiller(32);
    filler.add(row('{"a":1}'));
    filler.add(row('{"b":2}'));
    const first = filler.take()!;
    assert.equal(first.rows, 2);
    assert.equal(first.bytes.toString(), '{"a":1}\n{"b":2}\n');

    // Not released: the next chunk is filled elsewhere and the first one is intact.
    filler.add(row('{"c":3}'));
    const second = filler.take()!;
    assert.notEqual(second.bytes.buffer, first.bytes.buffer);
    assert.equal(first.bytes.toString(), '{"a":1}\n{"b":2}\n');
    assert.equal(second.bytes.toString(), '{"c":3}\n');

    first.release!();
    filler.add(row('{"d":4}'));
    const third = filler.take()!;
    assert.equal(third.bytes.buffer, first.bytes.buffer);
    assert.equal(third.bytes.toString(), '{"d":4}\n');
    assert.equal(filler.take(), undefined);
  });

  test('a row larger than the buffer grows the chunk without losing the rows before it', () => {
    const spare: Buffer[] = [];
    const filler = new NdjsonChunkFiller(16, spare);
    const big = 'x'.repeat(100);
    filler.add(row('{"a":1}'));
    filler.add(row(big));
    const chunk = filler.take()!;
    assert.equal(chunk.rows, 2);
    assert.equal(chunk.bytes.toString(), `{"a":1}\n${big}\n`);
    // The standard buffer it outgrew is kept; the grown one is not kept when released.
    assert.equal(spare.length, 1);
    chunk.release!();
    assert.equal(spare.length, 1);
  });

  test("scans sharing a pool do not keep each other's buffers of another size", () => {
    const spare: Buffer[] = [];
    const small = new NdjsonChunkFiller(8, spare);
    small.add(row('{"a":1}'));
    small.take()!.release!();
    assert.equal(spare.length, 1);
    const large = new NdjsonChunkFiller(1024, spare);
    large.add(row('{"b":2}'));
    const chunk = large.take()!;
    assert.equal(chunk.bytes.toString(), '{"b":2}\n');
    assert.ok(chunk.bytes.buffer.byteLength >= 1024);
  });

  test('a text line near the end of the buffer is counted before it is written, never cut', () => {
    // 40 bytes of room: the line's 13 characters could take 39 bytes, so the fast path is skipped
    // once the first line is in, and the exact count (23 bytes) still fits.
    const filler = new NdjsonChunkFiller(32);
    filler.addText('{"a":1}');
    const line = '{"t":"ééééé✓"}';
    filler.addText(line);
    filler.addText('😀'.repeat(20));
    const chunk = filler.take()!;
    assert.equal(chunk.rows, 3);
    assert.equal(chunk.bytes.toString(), `{"a":1}\n${line}\n${'😀'.repeat(20)}\n`);
  });

  test('lines written as text or in place sit between rows, and survive the buffer growing', () => {
    const filler = new NdjsonChunkFiller(16);
    filler.add(row('{"a":1}'));
    filler.addText('{"t":"é ✓ 😀"}');
    // Two reservations for one line, the second past the buffer's end: the first part moves with it.
    const head = filler.reserve(3);
    filler.buffer.write('{"x', head, 'latin1');
    const tail = filler.reserve(40);
    filler.buffer.write(`":"${'y'.repeat(35)}"}`, tail, 'latin1');
    filler.endLine();
    const chunk = filler.take()!;
    assert.equal(chunk.rows, 3);
    assert.equal(chunk.bytes.toString(), `{"a":1}\n{"t":"é ✓ 😀"}\n{"x":"${'y'.repeat(35)}"}\n`);
  });
});
