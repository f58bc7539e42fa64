import { randomUUID } from 'node:crypto';
import { TooManyRequestsError } from '../fhir/index.js';
import type { ResourceStore } from '../store/index.js';
import type { ExportConfig } from './config.js';
import { encodeExportRequest, encodeUnitSpec } from './job-codec.js';
import type { ExportRequest } from './types.js';

/** What queueing a job needs from the service that accepts it. */
export interface QueueJobDeps {
  store: ResourceStore;
  config: ExportConfig;
  now: () => number;
}

/**
 * Fix a job's snapshot and queue it with only its plan unit (a worker plans the rest, so the
 * kick-off never scans), unless the client already has its cap of unfinished jobs.
 * @throws TooManyRequestsError when the client has `maxQueuedJobsPerClient` unfinished jobs
 */
export async function queueExportJob(
  deps: QueueJobDeps,
  clientId: string | null,
  request: ExportRequest,
  patients: string[] | undefined,
): Promise<string> {
  const { store, config } = deps;
  // Taken under the write lock: every earlier write is in, every later one is after it.
  const transactionTime = await store.tick();
  const jobId = randomUUID();
  const created = await store.jobs.createJob(
    {
      id: jobId,
      clientId,
      request: encodeExportRequest(request),
      transactionTime,
      createdAt: deps.now(),
      ttlMs: config.fileTtlMs,
      maxUnfinished: config.maxQueuedJobsPerClient,
      ...(patients ? { patients } : {}),
    },
    [{ phase: 0, spec: encodeUnitSpec({ kind: 'plan' }), estimate: 1 }],
  );
  if (!created) {
    const unfinished = await store.jobs.countJobs(clientId, 'running');
    throw new TooManyRequestsError(
      `${unfinished} exports of this client are queued or running, and the limit is ` +
        `${config.maxQueuedJobsPerClient} (FHIRHOSE_MAX_QUEUED_JOBS); wait for one to finish or cancel one ` +
        `with DELETE on its status URL`,
      config.retryAfterSeconds * 5,
    );
  }
  return jobId;
}
