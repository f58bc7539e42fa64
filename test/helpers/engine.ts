import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { DEFAULT_EXPORT_CONFIG, workLoop } from '../../src/export/index.js';
import type { ExportConfig } from '../../src/export/index.js';
import type { ExportRequest } from '../../src/export/types.js';
import { LocalDirStorage } from '../../src/storage/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { SqliteStore } from '../../src/store/index.js';
import { tempDir } from './temp.js';

/** A clock that moves only when told: `now` is what the engine under test reads. */
export interface FrozenClock {
  now: () => number;
  advance(ms: number): void;
}

/** A frozen clock starting at `start` (default 1 January 2030, after anything the store stamps). */
export function frozenClock(start = Date.UTC(2030, 0, 1)): FrozenClock {
  let at = start;
  return { now: () => at, advance: (ms) => void (at += ms) };
}

/** The export engine's parts on a real SQLite file and a real folder, removed after the test. */
export interface Engine {
  store: SqliteStore;
  storage: LocalDirStorage;
  /** The folder the storage writes into: `<root>/<jobId>/<name>`. */
  root: string;
  config: ExportConfig;
  clock: FrozenClock;
  log: Logger;
}

/** A fresh engine: SQLite store, local folder storage, a frozen clock and a silent logger. */
export function engine(
  t: { after: (fn: () => void | Promise<void>) => void },
  config: Partial<ExportConfig> = {},
): Engine {
  const dir = tempDir(t);
  const store = openSqliteStore(join(dir, 'engine.db'));
  const root = join(dir, 'exports');
  const storage = new LocalDirStorage(root);
  t.after(() => store.close());
  return {
    store,
    storage,
    root,
    config: { ...DEFAULT_EXPORT_CONFIG, ...config },
    clock: frozenClock(),
    log: pino({ level: 'silent' }) as Logger,
  };
}

/**
 * Run one work loop until it finds no unit to lease, then stop it (the loop's idle wait aborts it).
 * @returns how many units it reported done
 */
export async function drain(e: Engine): Promise<number> {
  const controller = new AbortController();
  let done = 0;
  await workLoop({
    store: e.store,
    storage: e.storage,
    config: e.config,
    log: e.log,
    signal: controller.signal,
    waitForWork: async () => controller.abort(),
    onUnitDone: () => done++,
    now: e.clock.now,
  });
  return done;
}

/** A system-level export of every type, as parseKickoff makes it. */
export const SYSTEM_REQUEST: ExportRequest = {
  level: 'system',
  requestUrl: 'https://x.test/fhir/$export',
  outputFormat: 'application/fhir+ndjson',
  typeFilters: [],
  elements: [],
  includeAssociatedData: [],
  allowPartialManifests: false,
  lenient: false,
  separateExportStatus: false,
  warnings: [],
};
