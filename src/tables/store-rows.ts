import type { Millis, ResourceStore } from '../store/index.js';
import type { RowValues, ViewRow, ViewRunner } from '../views/index.js';

/** What part of the store a view reads. */
export interface ViewScope {
  /** The snapshot instant: the scan reads the versions current then. */
  asOf: Millis;
  /** Only the Patient compartments of these patient ids. */
  patients?: string[];
  /** Stop after this many rows. */
  limit?: number;
  /** Stop at the next batch once this fires. */
  signal?: AbortSignal;
}

/** Rows from any resource source, stopping at `limit`. */
export async function* limitRows(
  rows: AsyncIterable<ViewRow> | Iterable<ViewRow>,
  limit: number | undefined,
): AsyncGenerator<ViewRow> {
  if (limit !== undefined && limit <= 0) return;
  let n = 0;
  for await (const row of rows) {
    yield row;
    n += 1;
    if (limit !== undefined && n >= limit) return;
  }
}

/**
 * The view's rows over the store's resources of its type at one snapshot, in scan order, as one
 * batch of values per store batch (column order, as `ViewRunner.values`). The fast way to a file:
 * no object per row and one await per batch; `encodeValueBatches` writes them.
 */
export async function* viewValuesFromStore(
  store: ResourceStore,
  runner: ViewRunner,
  scope: ViewScope,
): AsyncGenerator<RowValues[]> {
  const limit = scope.limit;
  if (limit !== undefined && limit <= 0) return;
  let n = 0;
  const batches = store.scan({ type: runner.resource, asOf: scope.asOf, patients: scope.patients });
  for await (const batch of batches) {
    scope.signal?.throwIfAborted();
    const out: RowValues[] = [];
    for (const stored of batch) {
      for (const row of runner.values(JSON.parse(stored.json))) out.push(row);
    }
    if (limit !== undefined && n + out.length >= limit) {
      yield out.slice(0, limit - n);
      return;
    }
    n += out.length;
    if (out.length > 0) yield out;
  }
}

async function* storeRows(
  store: ResourceStore,
  runner: ViewRunner,
  scope: ViewScope,
): AsyncGenerator<ViewRow> {
  const names = runner.columns.map((c) => c.name);
  for await (const batch of viewValuesFromStore(store, runner, { ...scope, limit: undefined })) {
    for (const values of batch) {
      const row: ViewRow = {};
      for (let k = 0; k < names.length; k++) row[names[k]!] = values[k];
      yield row;
    }
  }
}

/** The view's rows over the store's resources of its type at one snapshot, in scan order. */
export function viewRowsFromStore(
  store: ResourceStore,
  runner: ViewRunner,
  scope: ViewScope,
): AsyncGenerator<ViewRow> {
  return limitRows(storeRows(store, runner, scope), scope.limit);
}

/** The view's rows over resources given inline (`resource` parameters), in the order given. */
export function viewRowsFromResources(
  runner: ViewRunner,
  resources: readonly unknown[],
  limit?: number,
): AsyncGenerator<ViewRow> {
  return limitRows(
    (function* () {
      for (const resource of resources) yield* runner.rows(resource);
    })(),
    limit,
  );
}
