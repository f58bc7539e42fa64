import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { CopyOutNdjson } from '../../src/store/postgres/copy-out.js';
import type { NdjsonChunk } from '../../src/store/index.js';

// The wire bytes of a COPY TO STDOUT (FORMAT binary), cut into socket chunks of every size, check the
// framing at each boundary; postgres-copy-out.int.test.ts runs the same class against a real server.

function message(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(payload.length + 4, 1);
  return Buffer.concat([head, payload]);
}

function copyHeader(extension: Buffer = Buffer.alloc(0)): Buffer {
  const fixed = Buffer.alloc(8);
  fixed.writeInt32BE(extension.length, 4);
  return Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), fixed, extension]);
}

function tuple(text: string): Buffer {
  const bytes = Buffer.from(text);
  const head = Buffer.alloc(6);
  head.writeInt16BE(1, 0);
  head.writeInt32BE(bytes.length, 2);
  return Buffer.concat([head, bytes]);
}

const TRAILER = Buffer.from([0xff, 0xff]);
const AFTER_COPY = Buffer.concat([message('C', Buffer.from('COPY 3\0')), message('Z', Buffer.from('I'))]);

/** Run a CopyOutNdjson over `wire`, delivered in chunks of `split` bytes; what it gave and handed back. */
async function run(
  wire: Buffer,
  split: number,
  chunkBytes = 64,
): Promise<{ text: string; rows: number; chunks: NdjsonChunk[]; handedBack: Buffer }> {
  const socket = new PassThrough();
  const back: Buffer[] = [];
  socket.on('data', (b: Buffer) => back.push(b));
  const copy = new CopyOutNdjson('COPY (SELECT 1) TO STDOUT (FORMAT binary)', chunkBytes);
  copy.submit({
    stream: socket,
    query: () => {
      for (let i = 0; i < wire.length; i += split) socket.write(wire.subarray(i, i + split));
    },
  });
  const chunks: NdjsonChunk[] = [];
  for await (const chunk of copy) chunks.push(chunk as NdjsonChunk);
  await new Promise((resolve) => setImmediate(resolve));
  return {
    text: Buffer.concat(chunks.map((c) => c.bytes)).toString('utf8'),
    rows: chunks.reduce((n, c) => n + c.rows, 0),
    chunks,
    handedBack: Buffer.concat(back),
  };
}

const ROWS = ['{"a":1}', `{"text":"${'é'.repeat(80)}"}`, '{"b":"ünïcödé ✓"}'];

function standardWire(rows: string[], options: { extension?: Buffer; perRow?: boolean } = {}): Buffer {
  const data = [copyHeader(options.extension), ...rows.map(tuple), TRAILER];
  // PostgreSQL sends a message per row; a message holding several rows must parse the same.
  const messages = options.perRow
    ? data.map((d) => message('d', d))
    : [message('d', Buffer.concat(data.slice(0, 2))), message('d', Buffer.concat(data.slice(2)))];
  return Buffer.concat([
    message('H', Buffer.from([1, 0, 1, 0, 1])),
    ...messages,
    message('c', Buffer.alloc(0)),
    AFTER_COPY,
  ]);
}

test('NDJSON comes out whole however the socket cuts the wire bytes', async () => {
  for (const perRow of [true, false]) {
    const wire = standardWire(ROWS, { perRow });
    for (let split = 1; split <= wire.length; split += split < 40 ? 1 : 17) {
      const got = await run(wire, split);
      assert.equal(got.text, ROWS.map((r) => r + '\n').join(''), `split ${split}`);
      assert.equal(got.rows, ROWS.length);
      // pg gets everything from CopyDone on, and parses the completion itself.
      assert.deepEqual(got.handedBack, Buffer.concat([message('c', Buffer.alloc(0)), AFTER_COPY]));
    }
  }
});

test('chunks end at row ends, near the chunk size; a row larger than a chunk is a chunk of its own', async () => {
  const rows = ['{"x":"' + 'a'.repeat(300) + '"}', '{"y":1}', '{"y":2}', '{"y":3}'];
  const got = await run(standardWire(rows, { perRow: true }), 7, 32);
  assert.deepEqual(
    got.chunks.map((c) => c.bytes.toString('utf8')),
    [rows[0] + '\n', `${rows[1]}\n${rows[2]}\n${rows[3]}\n`],
  );
  assert.deepEqual(
    got.chunks.map((c) => c.rows),
    [1, 3],
  );
});

test('a header extension is skipped, and no rows give no chunk', async () => {
  assert.equal(
    (await run(standardWire(ROWS, { extension: Buffer.from('ext!') }), 3)).text,
    ROWS.join('\n') + '\n',
  );
  const empty = await run(standardWire([]), 5);
  assert.equal(empty.chunks.length, 0);
});

test('an ErrorResponse mid-copy goes to pg with everything after it', async () => {
  const error = message('E', Buffer.from('SERROR\0C22012\0Mdivision by zero\0\0'));
  const wire = Buffer.concat([
    message('H', Buffer.from([1, 0, 1, 0, 1])),
    message('d', copyHeader()),
    message('d', tuple('{"a":1}')),
    error,
    message('Z', Buffer.from('I')),
  ]);
  for (const split of [1, 4, 9, wire.length]) {
    const socket = new PassThrough();
    const back: Buffer[] = [];
    socket.on('data', (b: Buffer) => back.push(b));
    const copy = new CopyOutNdjson('COPY x TO STDOUT', 64);
    copy.submit({
      stream: socket,
      query: () => {
        for (let i = 0; i < wire.length; i += split) socket.write(wire.subarray(i, i + split));
      },
    });
    const consumed = (async () => {
      for await (const _ of copy) void _;
    })();
    // pg would parse the error and call handleError; stand in for it once the bytes arrive.
    while (Buffer.concat(back).length < error.length) await new Promise((resolve) => setImmediate(resolve));
    copy.handleError(new Error('division by zero'));
    await assert.rejects(consumed, /division by zero/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      Buffer.concat(back),
      Buffer.concat([error, message('Z', Buffer.from('I'))]),
      `split ${split}`,
    );
  }
});

test('data that breaks the binary format fails the stream', async () => {
  const twoFields = Buffer.alloc(6);
  twoFields.writeInt16BE(2, 0);
  const cases: [string, Buffer][] = [
    ['signature', message('d', Buffer.from('NOTCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0', 'latin1'))],
    ['fields', Buffer.concat([message('d', copyHeader()), message('d', twoFields)])],
    ['trailer', message('d', copyHeader())],
  ];
  for (const [what, body] of cases) {
    const wire = Buffer.concat([body, message('c', Buffer.alloc(0)), AFTER_COPY]);
    await assert.rejects(run(wire, 5), TypeError, what);
  }
});
