import { isUtf8 } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { FhirResource } from '../fhir/index.js';
import { FhirhoseError, checkResource, isResource } from '../fhir/index.js';
import { bundleOperations } from './bundle.js';
import type { BundlePlan } from './bundle.js';
import type { LoadRun } from './loader.js';
import type { IngestSummary } from './types.js';

/**
 * Load a file holding one JSON document (plain or gzip): a resource, checked as an NDJSON line is, or
 * a Bundle. The good entries of a Bundle are loaded and each bad one is reported by its index, except
 * in a transaction, which is all-or-nothing (R4 http.html#transaction): one bad entry and none is
 * loaded. A damaged gzip file is refused whole: it is inflated and checked before anything is written.
 */
export async function loadJsonFile(run: LoadRun, file: string): Promise<void> {
  const read = await readJson(file);
  if ('reason' in read) {
    run.problem({ file, line: 0, reason: read.reason });
    return;
  }
  const { value } = read;
  if (isResource(value) && value.resourceType === 'Bundle') {
    await loadBundle(run, file, value);
    return;
  }
  let resource: FhirResource;
  try {
    resource = checkResource(value, { id: 'required' });
  } catch (err) {
    if (!(err instanceof FhirhoseError)) throw err;
    run.problem({ file, line: 0, reason: err.message });
    return;
  }
  addSummary(run.report, await run.store.ingest([resource]));
}

async function readJson(file: string): Promise<{ value: unknown } | { reason: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return { reason: `cannot read the file: ${(err as Error).message}` };
  }
  if (file.endsWith('.gz')) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      return { reason: `damaged gzip file (${(err as Error).message}): nothing from this file was loaded` };
    }
  }
  if (!isUtf8(bytes)) return { reason: 'invalid UTF-8: FHIR JSON is UTF-8 text' };
  try {
    return { value: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch (err) {
    return { reason: `invalid JSON: ${(err as Error).message}` };
  }
}

async function loadBundle(run: LoadRun, file: string, bundle: FhirResource): Promise<void> {
  let plan: BundlePlan;
  try {
    plan = bundleOperations(bundle);
  } catch (err) {
    if (!(err instanceof FhirhoseError)) throw err;
    run.problem({ file, line: 0, reason: err.message });
    return;
  }
  for (const { entry, reason } of plan.problems) run.problem({ file, line: 0, entry, reason });
  if (bundle.type === 'transaction' && plan.problems.length > 0) {
    const bad = `${plan.problems.length} of its ${plan.entries} entries cannot be loaded`;
    run.problem({
      file,
      line: 0,
      reason: `transaction Bundle not loaded: ${bad}, and a transaction is all-or-nothing`,
    });
    return;
  }
  const puts: FhirResource[] = [];
  for (const op of plan.ops) {
    if (op.kind === 'put') puts.push(op.resource);
    else if (await run.store.delete(op.type, op.id)) run.report.deleted += 1;
  }
  if (puts.length > 0) addSummary(run.report, await run.store.ingest(puts));
}

/** Add a batch's counts to the load's totals (or to other counts). */
export function addSummary(report: IngestSummary, s: IngestSummary): void {
  report.created += s.created;
  report.updated += s.updated;
  report.unchanged += s.unchanged;
}
