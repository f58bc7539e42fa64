import type { ResourceKey } from './types.js';

// What both stores' compartmentsOfMany share: how many keys one query takes, and how rows become owners.

/** Resources per `compartmentsOfMany` query: bounds the JSON of its parameter to a few hundred kB. */
export const REFS_PER_QUERY = 4000;

/** Keyed `type/id`, the sorted distinct patient ids of each (type, id, patient) row. */
export function groupOwners(rows: Iterable<[string, string, string]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [type, id, patient] of rows) {
    const key = `${type}/${id}`;
    const owners = out.get(key);
    if (!owners) out.set(key, [patient]);
    else if (!owners.includes(patient)) owners.push(patient);
  }
  for (const owners of out.values()) if (owners.length > 1) owners.sort();
  return out;
}

/** (type, id) in byte order, the order of the stores' (type, id) keys for ASCII ids. */
export function byKey(a: ResourceKey, b: ResourceKey): number {
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
