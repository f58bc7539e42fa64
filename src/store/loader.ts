import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { gunzipSync, createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import type { FhirResource } from '../fhir/index.js';
import { isResource, isResourceType, isValidId } from '../fhir/index.js';
import { bundleOperations } from './bundle.js';
import type { ResourceStore } from './types.js';

/** A line or entry that was not loaded, and why. */
export interface LoadProblem {
  file: string;
  /** 1-based line number (NDJSON), or 0 for a whole file. */
  line: number;
  reason: string;
}

/** The outcome of a load. */
export interface LoadReport {
  files: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  rejected: number;
  seconds: number;
}

/** Options for `loadPaths`. */
export interface LoadOptions {
  /** Resources per transaction. */
  batchSize?: number;
  onProblem?: (problem: LoadProblem) => void;
  /** Called after each committed batch with the running totals. */
  onProgress?: (report: LoadReport) => void;
}

const LOADABLE = /\.(ndjson|jsonl|json)(\.gz)?$/;

/** Expand files and folders into the loadable files below them, sorted by name. */
export async function listLoadable(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const info = await stat(path);
    if (info.isDirectory()) {
      const names = (await readdir(path)).sort();
      out.push(...(await listLoadable(names.map((n) => join(path, n)).filter((p) => LOADABLE.test(p)))));
    } else {
      out.push(path);
    }
  }
  return out;
}

function validate(value: unknown): string | undefined {
  if (!isResource(value)) return 'not a FHIR resource (no resourceType)';
  if (!isResourceType(value.resourceType)) return `unknown resourceType '${value.resourceType}'`;
  if (!isValidId(value.id)) return `${value.resourceType} has no valid id`;
  return undefined;
}

/** Load NDJSON (plain or gzip) and Bundle files into the store; bad lines are reported, good ones loaded. */
export async function loadPaths(
  store: ResourceStore,
  paths: string[],
  options: LoadOptions = {},
): Promise<LoadReport> {
  const started = performance.now();
  const files = await listLoadable(paths);
  const report: LoadReport = {
    files: files.length,
    created: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    rejected: 0,
    seconds: 0,
  };
  const problem = (p: LoadProblem): void => {
    report.rejected += 1;
    options.onProblem?.(p);
  };
  for (const file of files) {
    const isNdjson = /\.(ndjson|jsonl)(\.gz)?$/.test(file);
    if (isNdjson) await loadNdjson(store, file, report, problem, options);
    else await loadJsonFile(store, file, report, problem);
    report.seconds = (performance.now() - started) / 1000;
    options.onProgress?.(report);
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

async function loadNdjson(
  store: ResourceStore,
  file: string,
  report: LoadReport,
  problem: (p: LoadProblem) => void,
  options: LoadOptions,
): Promise<void> {
  const batchSize = options.batchSize ?? 2000;
  // pipeline() destroys the last stream on any error, which ends the line loop with that error.
  const input: Readable = file.endsWith('.gz')
    ? pipeline(createReadStream(file), createGunzip(), () => undefined)
    : createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let batch: FhirResource[] = [];
  let texts: string[] = [];
  let lineNo = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const s = await store.ingest(batch, texts);
    report.created += s.created;
    report.updated += s.updated;
    report.unchanged += s.unchanged;
    batch = [];
    texts = [];
    options.onProgress?.(report);
  };
  try {
    for await (const line of lines) {
      lineNo += 1;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        problem({ file, line: lineNo, reason: `invalid JSON: ${(err as Error).message}` });
        continue;
      }
      const reason = validate(value);
      if (reason) {
        problem({ file, line: lineNo, reason });
        continue;
      }
      batch.push(value as FhirResource);
      texts.push(line.trim());
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } catch (err) {
    problem({ file, line: lineNo, reason: `read failed: ${(err as Error).message}` });
  }
}

async function loadJsonFile(
  store: ResourceStore,
  file: string,
  report: LoadReport,
  problem: (p: LoadProblem) => void,
) {
  let value: unknown;
  try {
    const raw = await readFile(file);
    value = JSON.parse((file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8'));
  } catch (err) {
    problem({ file, line: 0, reason: `cannot read JSON: ${(err as Error).message}` });
    return;
  }
  if (isResource(value) && value.resourceType === 'Bundle') {
    let ops;
    try {
      ops = bundleOperations(value);
    } catch (err) {
      problem({ file, line: 0, reason: (err as Error).message });
      return;
    }
    const puts: FhirResource[] = [];
    for (const op of ops) {
      if (op.kind === 'delete') {
        if (await store.delete(op.type, op.id)) report.deleted += 1;
        continue;
      }
      const reason = validate(op.resource);
      if (reason) problem({ file, line: 0, reason });
      else puts.push(op.resource);
    }
    if (puts.length > 0) addSummary(report, await store.ingest(puts));
    return;
  }
  const reason = validate(value);
  if (reason) problem({ file, line: 0, reason });
  else addSummary(report, await store.ingest([value as FhirResource]));
}

function addSummary(report: LoadReport, s: { created: number; updated: number; unchanged: number }): void {
  report.created += s.created;
  report.updated += s.updated;
  report.unchanged += s.unchanged;
}
