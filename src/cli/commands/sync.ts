import { createReadStream, existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { BulkDataClient, hasState, readState } from '../../client/index.js';
import type { BulkClientOptions, ExportSummary, KickoffRequest } from '../../client/index.js';
import type { FhirResource } from '../../fhir/index.js';
import { openSqliteStore } from '../../store/index.js';
import type { ResourceStore } from '../../store/index.js';
import {
  addClientOptions,
  clientOptions,
  interruptSignal,
  reportFailure,
  reporterFor,
} from './client-flags.js';
import type { ClientFlags } from './client-flags.js';
import { serverUrl } from '../server-url.js';

/** What a mirror remembers between runs, in `<db>.sync.json`. */
interface SyncState {
  baseUrl: string;
  /** The last export's transactionTime: the next run's `_since`. */
  transactionTime: string;
  syncedAt: string;
}

/** One sync run. */
export interface SyncOptions {
  baseUrl: string;
  dbPath: string;
  /** Where the export files go (default `<db>.sync-work`); removed after a successful run. */
  workDir?: string;
  client?: BulkClientOptions;
  parallel?: number;
  types?: string[];
  keepFiles?: boolean;
  signal?: AbortSignal;
}

/** What a sync run did. */
export interface SyncReport {
  since?: string;
  transactionTime: string;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  summary: ExportSummary;
}

/** Resources per store transaction, and the JSON bytes that end a batch early. */
const BATCH_RESOURCES = 2000;
const BATCH_BYTES = 16 * 1024 * 1024;

async function readSyncState(path: string): Promise<SyncState | undefined> {
  if (!existsSync(path)) return undefined;
  return JSON.parse(await readFile(path, 'utf8')) as SyncState;
}

function lines(path: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(path), crlfDelay: Infinity });
}

/** Upsert every resource of an output file, in bounded batches, keeping the server's ids. */
async function applyOutput(store: ResourceStore, path: string, report: SyncReport): Promise<void> {
  let resources: FhirResource[] = [];
  let texts: string[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (resources.length === 0) return;
    const s = await store.ingest(resources, texts);
    report.created += s.created;
    report.updated += s.updated;
    report.unchanged += s.unchanged;
    resources = [];
    texts = [];
    bytes = 0;
  };
  for await (const line of lines(path)) {
    if (line.trim() === '') continue;
    resources.push(JSON.parse(line) as FhirResource);
    texts.push(line);
    bytes += line.length;
    if (resources.length >= BATCH_RESOURCES || bytes >= BATCH_BYTES) await flush();
  }
  await flush();
}

/** Apply the DELETE entries of a `deleted` file (transaction Bundles, IG §5). */
async function applyDeleted(store: ResourceStore, path: string, report: SyncReport): Promise<void> {
  for await (const line of lines(path)) {
    if (line.trim() === '') continue;
    const bundle = JSON.parse(line) as { entry?: { request?: { method?: string; url?: string } }[] };
    for (const entry of bundle.entry ?? []) {
      if (entry.request?.method !== 'DELETE' || !entry.request.url) continue;
      // `Type/id`, or an absolute URL ending in it.
      const [type, id] = entry.request.url.split('?')[0]!.split('/').slice(-2);
      if (type && id && (await store.delete(type, id))) report.deleted++;
    }
  }
}

/**
 * Bring the mirror at `dbPath` up to date: the first run exports everything, later runs export with
 * `_since` = the last transactionTime, apply `output` as upserts and `deleted` as deletions, and record
 * the new transactionTime. An interrupted run's download is resumed by the next run.
 * The store re-stamps meta.versionId and meta.lastUpdated with the mirror's own values.
 */
export async function syncMirror(options: SyncOptions): Promise<SyncReport> {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const statePath = `${options.dbPath}.sync.json`;
  const workDir = options.workDir ?? `${options.dbPath}.sync-work`;
  const previous = await readSyncState(statePath);
  if (previous && previous.baseUrl !== baseUrl) {
    throw new Error(`${options.dbPath} mirrors ${previous.baseUrl}, not ${baseUrl}`);
  }
  const request: KickoffRequest = { level: 'system', params: {} };
  if (previous) request.params.since = previous.transactionTime;
  if (options.types?.length) request.params.type = options.types;
  const client = new BulkDataClient(baseUrl, options.client);
  let summary: ExportSummary;
  try {
    const run = {
      outDir: workDir,
      parallel: options.parallel ?? 4,
      cleanup: true,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const resumable =
      hasState(workDir) && (await readState(workDir)).request.params.since === request.params.since;
    if (!resumable) await rm(workDir, { recursive: true, force: true });
    summary = resumable ? await client.resume(run) : await client.export(request, run);
  } finally {
    await client.close();
  }
  if (!summary.ok)
    throw new Error(`the export did not complete; run sync again to resume it (files in ${workDir})`);
  if (!summary.transactionTime) throw new Error('the server sent no transactionTime, so no next _since');
  const report: SyncReport = {
    transactionTime: summary.transactionTime,
    created: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    summary,
  };
  if (previous) report.since = previous.transactionTime;
  const store = openSqliteStore(options.dbPath);
  try {
    for (const f of summary.files)
      if (f.kind === 'output') await applyOutput(store, join(workDir, f.path), report);
    for (const f of summary.files)
      if (f.kind === 'deleted') await applyDeleted(store, join(workDir, f.path), report);
  } finally {
    await store.close();
  }
  const next: SyncState = {
    baseUrl,
    transactionTime: summary.transactionTime,
    syncedAt: new Date().toISOString(),
  };
  await writeFile(`${statePath}.tmp`, JSON.stringify(next, null, 1));
  await rename(`${statePath}.tmp`, statePath);
  if (!options.keepFiles) await rm(workDir, { recursive: true, force: true });
  return report;
}

interface SyncFlags extends ClientFlags {
  db: string;
  workDir?: string;
  type: string[];
  keepFiles?: boolean;
}

/** `fhirhose sync`: an incremental mirror of a Bulk Data server in a local store. */
export function registerSync(program: Command): void {
  const cmd = program
    .command('sync')
    .description('mirror a FHIR Bulk Data server into a local store, incrementally (_since)')
    .argument('<fhir-base-url>', 'the FHIR server base URL')
    .requiredOption('--db <path>', 'SQLite database of the mirror (serve it with fhirhose serve --db)')
    .option('--work-dir <dir>', 'folder for the export files (default <db>.sync-work)')
    .option(
      '--type <types>',
      '_type: only these resource types, comma-separated',
      (v: string, p: string[]) => [...p, ...v.split(',')],
      [],
    )
    .option('--keep-files', 'keep the export files after applying them');
  addClientOptions(cmd);
  cmd.action(async (base: string, flags: SyncFlags) => {
    const reporter = reporterFor(flags);
    const { signal, dispose } = interruptSignal();
    try {
      const report = await syncMirror({
        baseUrl: serverUrl(base),
        dbPath: flags.db,
        client: clientOptions(flags, reporter.listener),
        parallel: flags.parallel,
        types: flags.type,
        signal,
        ...(flags.workDir ? { workDir: flags.workDir } : {}),
        ...(flags.keepFiles ? { keepFiles: true } : {}),
      });
      reporter.summary(report.summary);
      const { summary: _summary, ...counts } = report;
      if (flags.json)
        console.log(JSON.stringify({ time: new Date().toISOString(), event: 'sync', ...counts }));
      else
        console.log(
          `synced ${flags.db} ${report.since ? `since ${report.since}` : '(full)'} to ${report.transactionTime}: ` +
            `${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged, ${report.deleted} deleted`,
        );
    } catch (err) {
      reporter.stop();
      reportFailure(err, flags);
    } finally {
      dispose();
    }
  });
}
