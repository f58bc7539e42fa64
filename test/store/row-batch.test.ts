import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RowBatchFiller } from '../../src/store/row-batch.js';

const at = { lastUpdated: 1, id: 'a' };

describe('RowBatchFiller', () => {
  test('rows are views of one buffer, which is filled again only once the batch is released', () => {
    const spare: Buffer[] = [];
    const filler = new RowBatchFiller(32, spare);
    filler.add('{"a":1}');
    filler.add('{"t":"é ✓ 😀"}');
    assert.equal(filler.bytes, 7 + Buffer.byteLength('{"t":"é ✓ 😀"}'));
    const first = filler.take(at)!;
    assert.deepEqual(
      first.rows.map((r) => r.toString()),
      ['{"a":1}', '{"t":"é ✓ 😀"}'],
    );
    assert.equal(first.rows[0]!.buffer, first.rows[1]!.buffer);
    assert.deepEqual(first.cursor, at);

    // Not released: the next batch has a buffer of its own, and the first batch stays intact.
    filler.add('{"b":2}');
    const second = filler.take(at)!;
    assert.notEqual(second.rows[0]!.buffer, first.rows[0]!.buffer);
    assert.equal(first.rows[0]!.toString(), '{"a":1}');

    first.release!();
    first.release!();
    // Released twice, kept once: two batches filled now cannot share a buffer.
    assert.equal(spare.length, 1);
    filler.add('{"c":3}');
    const third = filler.take(at)!;
    assert.equal(third.rows[0]!.buffer, first.rows[0]!.buffer);
    assert.equal(third.rows[0]!.toString(), '{"c":3}');
    filler.add('{"d":4}');
    assert.notEqual(filler.take(at)!.rows[0]!.buffer, third.rows[0]!.buffer);
  });

  test('the pool never holds more than two buffers, however many batches are released', () => {
    const spare: Buffer[] = [];
    const filler = new RowBatchFiller(64, spare);
    const batches = Array.from({ length: 5 }, (_, i) => {
      filler.add(`{"n":${i}}`);
      return filler.take(at)!;
    });
    for (const b of batches) b.release!();
    assert.equal(spare.length, 2);
    assert.equal(filler.take(at), undefined);
  });

  test('a row past the slack gets a buffer of its own, and the rows before it are kept', () => {
    const filler = new RowBatchFiller(16);
    const big = `{"x":"${'y'.repeat(100)}"}`;
    filler.add('{"a":1}');
    filler.add(big);
    filler.add('{"b":2}');
    const batch = filler.take(at)!;
    assert.deepEqual(
      batch.rows.map((r) => r.toString()),
      ['{"a":1}', big, '{"b":2}'],
    );
    assert.notEqual(batch.rows[1]!.buffer, batch.rows[0]!.buffer);
    assert.equal(batch.rows[2]!.buffer, batch.rows[0]!.buffer);
  });
});
