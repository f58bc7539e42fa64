import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveChunk } from '../../src/export/attachment-urls.js';

const BASE = 'http://host:8080';
const ndjson = (...rows: unknown[]): Buffer =>
  Buffer.from(rows.map((r) => JSON.stringify(r) + '\n').join(''));

describe('resolveChunk', () => {
  test('re-serializes only the rows with a relative Attachment url, keeping the others byte for byte', () => {
    const kept =
      '{"resourceType":"Patient","id":"a","name":[{"family":"Ünal"}],"photo":[{"url":"https://x/y"}]}\n';
    const spaced = '{"resourceType": "Patient", "id": "b"}\n';
    const bytes = Buffer.concat([
      Buffer.from(kept),
      ndjson({ resourceType: 'Patient', id: 'c', name: [{ family: 'Çelik' }], photo: [{ url: 'Binary/1' }] }),
      Buffer.from(spaced),
    ]);
    const out = resolveChunk(bytes, 'Patient', BASE);
    assert.ok(out);
    assert.equal(
      out.toString('utf8'),
      kept +
        JSON.stringify({
          resourceType: 'Patient',
          id: 'c',
          name: [{ family: 'Çelik' }],
          photo: [{ url: 'http://host:8080/Binary/1' }],
        }) +
        '\n' +
        spaced,
    );
  });

  test('answers undefined when nothing changes, so the stored buffer is written', () => {
    const extensionOnly = ndjson({
      resourceType: 'Patient',
      id: 'a',
      extension: [{ url: 'local', valueString: 'x' }],
    });
    assert.equal(resolveChunk(extensionOnly, 'Patient', BASE), undefined);
    const observation = ndjson({ resourceType: 'Observation', id: 'o', extension: [{ url: 'Binary/1' }] });
    assert.equal(resolveChunk(observation, 'Observation', BASE), undefined);
    assert.equal(resolveChunk(Buffer.alloc(0), 'Patient', BASE), undefined);
  });
});
