import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NdjsonVerifier } from '../../src/client/index.js';

const feed = (v: NdjsonVerifier, ...parts: string[]): void => {
  for (const p of parts) v.scan(Buffer.from(p));
};

describe('NdjsonVerifier', () => {
  test('counts lines split across chunks, with or without a final newline', () => {
    const v = new NdjsonVerifier({ resourceType: 'Patient', count: 3 });
    feed(
      v,
      '{"resourceType":"Pat',
      'ient","id":"a"}\n{"resourceType":"Patient"',
      ',"id":"b"}\n\n',
      '{"resourceType":"Patient","id":"c"}',
    );
    v.finish();
    assert.equal(v.lines, 3);
  });

  test('rejects a line that is not JSON, naming the line', () => {
    const v = new NdjsonVerifier({});
    assert.throws(() => feed(v, '{"resourceType":"Patient"}\n{"resourceType":\n'), {
      code: 'FHIRHOSE_ERR_CLIENT_VERIFY',
      line: 2,
    });
  });

  test('rejects a resource of another type than the manifest says', () => {
    const v = new NdjsonVerifier({ resourceType: 'Patient' });
    assert.throws(() => feed(v, '{"resourceType":"Observation"}\n'), { code: 'FHIRHOSE_ERR_CLIENT_VERIFY' });
  });

  test('rejects a count that differs from the manifest', () => {
    const v = new NdjsonVerifier({ resourceType: 'Patient', count: 2 });
    feed(v, '{"resourceType":"Patient"}\n');
    assert.throws(() => v.finish(), /count is 2 but the file holds 1/);
  });

  test('rejects a truncated last line at the end', () => {
    const v = new NdjsonVerifier({});
    feed(v, '{"resourceType":"Patient"}\n{"resourceType":"Pa');
    assert.throws(() => v.finish(), { code: 'FHIRHOSE_ERR_CLIENT_VERIFY', line: 2 });
  });

  test('rejects JSON that is not a resource', () => {
    const v = new NdjsonVerifier({});
    assert.throws(() => feed(v, '[1,2]\n'), /not a FHIR resource/);
  });

  test('bounds the memory a line without newline may take', () => {
    const v = new NdjsonVerifier({ maxLineBytes: 10 });
    assert.throws(() => feed(v, '{"resourceType":', '"Patient"'), /longer than 10 bytes/);
  });
});

describe('NdjsonVerifier modes', () => {
  const badUtf8 = Buffer.concat([
    Buffer.from('{"resourceType":"Patient"}\n{"resourceType":"Patient","n":"a'),
    Buffer.from([0xc3, 0x28]),
    Buffer.from('"}\n{"resourceType":"Patient"}\n'),
  ]);

  test('rejects invalid UTF-8 in either mode, naming the line, within a chunk or across two', () => {
    for (const verify of ['lines', 'full'] as const) {
      for (const cut of [badUtf8.length, 40, 60]) {
        const v = new NdjsonVerifier({ resourceType: 'Patient', verify });
        assert.throws(
          () => {
            v.scan(badUtf8.subarray(0, cut));
            v.scan(badUtf8.subarray(cut));
            v.finishLines();
          },
          { code: 'FHIRHOSE_ERR_CLIENT_VERIFY', line: 2 },
          `${verify} cut at ${cut}`,
        );
        assert.equal(v.lines, 1);
      }
    }
  });

  test('lines mode takes a broken value inside a well-shaped line; full mode rejects it', () => {
    const text = '{"resourceType":"Patient","a":[1,}\n';
    const lines = new NdjsonVerifier({ resourceType: 'Patient', count: 1 });
    feed(lines, text);
    lines.finish();
    assert.equal(lines.lines, 1);
    const full = new NdjsonVerifier({ resourceType: 'Patient', verify: 'full' });
    assert.throws(() => feed(full, text), { code: 'FHIRHOSE_ERR_CLIENT_VERIFY', line: 1 });
  });

  test('lines mode rejects a line of another type, one cut short and one not an object', () => {
    for (const text of ['{"resourceType":"Observation"}\n', '{"resourceType":"Patient"\n', '[1]\n']) {
      const v = new NdjsonVerifier({ resourceType: 'Patient' });
      assert.throws(() => feed(v, '{"resourceType":"Patient"}\n', text), { line: 2 }, text);
    }
  });
});
