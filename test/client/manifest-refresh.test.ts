import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { matchFiles } from '../../src/client/manifest-refresh.js';
import type { PageEntry } from '../../src/client/manifest-refresh.js';
import type { FileRecord } from '../../src/client/index.js';

const record = (url: string, type = 'Patient', kind: FileRecord['kind'] = 'output'): FileRecord => ({
  kind,
  type,
  url,
  path: `${kind}/${type}.${url.length}.ndjson`,
});
const entry = (url: string, type = 'Patient', kind: PageEntry['kind'] = 'output'): PageEntry => ({
  kind,
  file: { url, type },
});

/** The new URL each old file was paired with, by old URL. */
function urls(pairs: ReturnType<typeof matchFiles>): Record<string, string> {
  return Object.fromEntries([...pairs].map(([old, fresh]) => [old.url, fresh.url]));
}

describe('matchFiles', () => {
  test('pairs re-signed URLs by their URL without the query, whatever the order', () => {
    const olds = [record('https://s3/a.ndjson?sig=1'), record('https://s3/b.ndjson?sig=1')];
    const news = [entry('https://s3/b.ndjson?sig=2'), entry('https://s3/a.ndjson?sig=2')];
    assert.deepEqual(urls(matchFiles(olds, news, true)), {
      'https://s3/a.ndjson?sig=1': 'https://s3/a.ndjson?sig=2',
      'https://s3/b.ndjson?sig=1': 'https://s3/b.ndjson?sig=2',
    });
  });

  test('falls back to the position within the type when the paths changed, only when asked', () => {
    const olds = [record('https://x/t1'), record('https://x/t2'), record('https://x/t3', 'Observation')];
    const news = [entry('https://x/u1'), entry('https://x/u3', 'Observation'), entry('https://x/u2')];
    const expected = {
      'https://x/t1': 'https://x/u1',
      'https://x/t2': 'https://x/u2',
      'https://x/t3': 'https://x/u3',
    };
    assert.deepEqual(urls(matchFiles(olds, news, true)), expected);
    assert.equal(matchFiles(olds, news, false).size, 0);
  });

  test('does not pair by position when the type has a different number of files', () => {
    const olds = [record('https://x/t1'), record('https://x/t2')];
    assert.equal(matchFiles(olds, [entry('https://x/u1')], true).size, 0);
  });

  test('keeps sections and types apart', () => {
    const olds = [record('https://x/f?sig=1', 'Bundle', 'deleted')];
    const news = [
      entry('https://x/f?sig=2', 'Bundle', 'output'),
      entry('https://x/f?sig=2', 'Patient', 'deleted'),
    ];
    assert.equal(matchFiles(olds, news, false).size, 0);
  });

  test('does not swap files that share a path and differ only in their query', () => {
    const olds = [record('https://x/dl?file=1')];
    const news = [entry('https://x/dl?file=2'), entry('https://x/dl?file=1')];
    assert.deepEqual(urls(matchFiles(olds, news, false)), { 'https://x/dl?file=1': 'https://x/dl?file=1' });
  });
});
