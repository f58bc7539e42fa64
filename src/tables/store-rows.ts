import type { Millis, ResourceStore } from '../store/index.js';
import type { ViewRow, ViewRunner } from '../views/index.js';

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

async function* storeRows(
  store: ResourceStore,
  runner: ViewRunner,
  scope: ViewScope,
): AsyncGenerator<ViewRow> {
  const batches = store.scan({ type: runner.resource, asOf: scope.asOf, patients: scope.patients });
  for await (const batch of batches) {
    scope.signal?.throwIfAborted();
    for (const stored of batch) yield* runner.rows(JSON.parse(stored.json));
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
