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
