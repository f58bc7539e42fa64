import assert from 'node:assert/strict';
import type { TestStore } from '../helpers/stores.js';

/** A store on an emptied test database, closed after the test. */
export type Open = (
  t: { after: (fn: () => Promise<void> | void) => void },
  now?: () => number,
) => Promise<TestStore>;

/** Every batch of a store iterable, flattened. */
export async function collect<T>(it: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of it) out.push(...batch);
  return out;
}

export const ids = (rs: { id: string }[]): string[] => rs.map((r) => r.id);

/** The rows of one type's NDJSON chunk as `Type/id@version` keys, checking the chunk's row count and types. */
export function chunkKeys(type: string, chunk: { rows: number; bytes: Buffer }): string[] {
  const lines = chunk.bytes.toString('utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, chunk.rows, 'rows counts the lines');
  return lines.map((line) => {
    const r = JSON.parse(line) as { resourceType: string; id: string; meta: { versionId: string } };
    assert.equal(r.resourceType, type);
    return `${type}/${r.id}@${r.meta.versionId}`;
  });
}
