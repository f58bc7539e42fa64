import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latin1Pieces } from '../../src/export/unit-context.js';

const lines = (sizes: number[]): string =>
  sizes.map((n, i) => `${String(i).padStart(4, '0')}${'x'.repeat(n)}\n`).join('');

test('latin1Pieces cuts NDJSON into whole lines of at most 64 KiB, losing nothing', () => {
  const text = lines(Array.from({ length: 500 }, (_, i) => 100 + ((i * 37) % 900)));
  const pieces = [...latin1Pieces(Buffer.from(text, 'latin1'))];
  assert.ok(pieces.length > 1);
  assert.equal(pieces.join(''), text);
  for (const p of pieces) {
    assert.ok(p.length <= 64 * 1024, `${p.length}`);
    assert.ok(p.endsWith('\n'));
  }
});

test('a line longer than a piece stays whole, and so do the lines around it', () => {
  const text = lines([10, 200_000, 20, 70_000, 5]);
  const pieces = [...latin1Pieces(Buffer.from(text, 'latin1'))];
  assert.equal(pieces.join(''), text);
  assert.ok(pieces.every((p) => p.endsWith('\n')));
  assert.ok(pieces.some((p) => p.length > 200_000));
});

test('bytes that do not end with a newline keep their tail', () => {
  const text = `${lines([70_000])}tail-without-newline`;
  assert.equal([...latin1Pieces(Buffer.from(text, 'latin1'))].join(''), text);
  assert.deepEqual([...latin1Pieces(Buffer.alloc(0))], []);
});
