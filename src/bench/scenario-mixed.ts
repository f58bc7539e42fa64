import { setTimeout as sleep } from 'node:timers/promises';
import { clientTokens, registerClients, removeClients } from './bench-clients.js';
import type { BenchClient } from './bench-clients.js';
import type { BenchContext } from './context.js';
import { eachRun, withServer } from './context.js';
import { readPatientIds } from './dataset.js';
import { POLL_INTERVAL_MS, exportTimeoutMs } from './export-run.js';
import { BARS, figure } from './figures.js';
import { KickoffRefusedError, awaitManifest, deleteJob, kickoff, postGroup } from './http.js';
import type { Bearer, KickoffRequest } from './http.js';
import { clientSpan, retryWaitMs, summarizeMixed } from './mixed-load.js';
import type { ClientSpan, MixedSummary, TimedExport } from './mixed-load.js';
import { ELEMENTS, TYPE_FILTER, groupMembers } from './scenario-exports.js';
import type { BenchServer } from './server.js';

/** Clients of the mixed load, each with its own key, token and four exports. */
export const MIXED_CLIENTS = 5;

/** The default per-client cap of queued and running jobs, stated so the scenario does not depend on it. */
const JOB_CAPS: Readonly<Record<string, string>> = Object.freeze({ FHIRHOSE_MAX_QUEUED_JOBS: '20' });

/** One client's workload reads about 2.5 stores: system and `_elements` read all of it, the others less. */
const STORES_PER_CLIENT = 2.5;

/** The four exports every client starts at once, as the single-export scenarios run them. */
function workload(groupId: string): KickoffRequest[] {
  return [
    { path: '/$export' },
    { path: `/Group/${groupId}/$export` },
    { path: `/$export?_type=Observation&_typeFilter=${encodeURIComponent(TYPE_FILTER)}` },
    { path: `/$export?_elements=${encodeURIComponent(ELEMENTS)}` },
  ];
}

/** What the exports of one set of clients share: the deadline, and every job to DELETE afterwards. */
interface Batch {
  base: string;
  deadline: number;
  accepted: { statusUrl: string; bearer: Bearer }[];
}

interface ClientResult {
  span: ClientSpan;
  /** Kick-offs refused with 429 and sent again. */
  retries: number;
}

/** Kick off, and after a 429 wait for its Retry-After and send it again, until the batch's deadline. */
async function kickoffPatiently(
  batch: Batch,
  req: KickoffRequest & { bearer: Bearer },
): Promise<{ statusUrl: string; sentAt: number; retries: number }> {
  const sentAt = performance.now();
  for (let retries = 0; ; retries++) {
    try {
      const { statusUrl } = await kickoff(batch.base, req);
      batch.accepted.push({ statusUrl, bearer: req.bearer });
      return { statusUrl, sentAt, retries };
    } catch (err) {
      const remaining = batch.deadline - performance.now();
      if (!(err instanceof KickoffRefusedError && err.throttled) || remaining <= 0) throw err;
      await sleep(retryWaitMs(err.retryAfterMs, remaining));
    }
  }
}

async function oneExport(
  batch: Batch,
  req: KickoffRequest,
  bearer: Bearer,
): Promise<TimedExport & { retries: number }> {
  const kicked = await kickoffPatiently(batch, { ...req, bearer });
  const done = await awaitManifest(kicked.statusUrl, {
    intervalMs: POLL_INTERVAL_MS,
    latenciesMs: [],
    timeoutMs: batch.deadline - performance.now(),
    bearer,
  });
  const { output, error } = done.manifest;
  if (error.length > 0) throw new Error(`export ${req.path} reported ${error.length} error files`);
  return {
    kickoffAt: kicked.sentAt,
    manifestAt: done.completedAt,
    resources: output.reduce((n, f) => n + (f.count ?? 0), 0),
    retries: kicked.retries,
  };
}

/** The first rejection's reason, thrown after every promise has settled (none is left running). */
async function allSettledOrThrow<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** One client's four exports, kicked off together; its span runs from the first kick-off to the last manifest. */
async function runClient(
  batch: Batch,
  requests: readonly KickoffRequest[],
  bearer: Bearer,
): Promise<ClientResult> {
  const exports = await allSettledOrThrow(requests.map((req) => oneExport(batch, req, bearer)));
  return { span: clientSpan(exports), retries: exports.reduce((n, e) => n + e.retries, 0) };
}

/** DELETE every job of a batch, so its files leave the disk and no job outlives its server. */
async function release(batch: Batch): Promise<void> {
  const settled = await Promise.allSettled(batch.accepted.map((a) => deleteJob(a.statusUrl, a.bearer)));
  const failed = settled.filter((s) => s.status === 'rejected');
  if (failed.length > 0) {
    const why = failed[0]!.reason instanceof Error ? failed[0]!.reason.message : String(failed[0]!.reason);
    throw new Error(`DELETE failed for ${failed.length} of ${batch.accepted.length} jobs: ${why}`);
  }
}

/** Every client runs its workload at once; every job is deleted afterwards, also on failure. */
async function runClients(
  base: string,
  requests: readonly KickoffRequest[],
  bearers: readonly Bearer[],
  timeoutMs: number,
): Promise<ClientResult[]> {
  const batch: Batch = { base, deadline: performance.now() + timeoutMs, accepted: [] };
  let results: ClientResult[];
  try {
    results = await allSettledOrThrow(bearers.map((b) => runClient(batch, requests, b)));
  } catch (err) {
    // Jobs are durable: one left running would be resumed by the next server on this store.
    await release(batch).catch((cancelErr: unknown) => {
      throw new Error(`${String(err)}; deleting its jobs failed too: ${String(cancelErr)}`, { cause: err });
    });
    throw err;
  }
  await release(batch);
  return results;
}

interface MixedRun extends MixedSummary {
  /** Kick-offs retried after 429: warm-up, alone and mixed. */
  retries: number;
  /** The unmeasured warm-up pass of client 1, first kick-off to last manifest. */
  warmUpSeconds: number;
  peakRssMb: number;
}

/** Client 1 alone (after a warm-up pass), then all clients at once, on one server. */
async function runMixed(
  server: BenchServer,
  clients: readonly BenchClient[],
  requests: readonly KickoffRequest[],
  storeResources: number,
): Promise<MixedRun> {
  const tokens = clientTokens(server.baseUrl, clients);
  const first = tokens.bearers.slice(0, 1);
  const aloneMs = exportTimeoutMs(storeResources * STORES_PER_CLIENT);
  const run = (bearers: readonly Bearer[], timeoutMs: number): Promise<ClientResult[]> =>
    runClients(server.baseUrl, requests, bearers, timeoutMs);
  try {
    // A client gets a token once per session, not per export: fetch them before the clock starts.
    await Promise.all(tokens.bearers.map((b) => b()));
    // A fresh server runs its first exports cold (JIT, SQLite page caches): in the first try of this
    // scenario, client 1 alone took 10.4 s on it, then 5.2 s per client in the mixed run that followed.
    // An unmeasured pass warms it, so the time alone is not inflated and the ratio not flattered.
    const warmUp = await run(first, aloneMs);
    const [alone] = await run(first, aloneMs);
    const mixed = await run(tokens.bearers, aloneMs * clients.length);
    const retries = [...warmUp, alone!, ...mixed].reduce((n, r) => n + r.retries, 0);
    return {
      ...summarizeMixed(
        alone!.span,
        mixed.map((r) => r.span),
      ),
      retries,
      warmUpSeconds: (warmUp[0]!.span.lastManifestAt - warmUp[0]!.span.firstKickoffAt) / 1000,
      peakRssMb: server.peakRssMb(),
    };
  } finally {
    await tokens.close();
  }
}

/**
 * Five SMART Backend Services clients, each running a system, a Group, a `_typeFilter` and an
 * `_elements` export at once (20 jobs), on a server with authorization on: the aggregate rate, the
 * fairness ratio (slowest client's time over client 1's time alone on the same server) and the
 * server's peak RSS. Client 1 alone stands for every client, as all run the same workload.
 */
export async function benchMixed(
  ctx: BenchContext,
  store: { db: string; resources: number; dataDir: string },
): Promise<void> {
  const members = groupMembers(await readPatientIds(store.dataDir));
  const groupId = await withServer(ctx, (server) => postGroup(server.baseUrl, members), { db: store.db });
  const requests = workload(groupId);
  const clients = await registerClients(store.db, MIXED_CLIENTS);
  const label = `mixed (${MIXED_CLIENTS} clients x 4 exports of ${store.resources.toLocaleString('en-US')})`;
  ctx.log(`  alone: client 1 only; all ${MIXED_CLIENTS} clients run the same 4 exports`);
  let runs: MixedRun[];
  try {
    runs = await eachRun(ctx, label, (server) => runMixed(server, clients, requests, store.resources), {
      db: store.db,
      auth: true,
      settings: JOB_CAPS,
    });
  } finally {
    await removeClients(store.db, clients);
  }
  pushFigures(ctx, label, runs);
  ctx.details.mixed = { groupMembers: members.length, clients: MIXED_CLIENTS, runs };
}

function pushFigures(ctx: BenchContext, label: string, runs: readonly MixedRun[]): void {
  const of = (pick: (r: MixedRun) => number): number[] => runs.map(pick);
  const note =
    'every client runs the same 4 exports, so client 1 alone (on the same server, after a warm-up pass, before the mixed run) stands for each';
  ctx.figures.push(
    figure(
      'mixed.rate',
      `${label}, aggregate`,
      'resources/s',
      of((r) => r.rate),
    ),
    figure(
      'mixed.alone.seconds',
      `${label}: client 1 alone`,
      's',
      of((r) => r.aloneSeconds),
    ),
    figure(
      'mixed.slowest.seconds',
      `${label}: slowest client`,
      's',
      of((r) => r.clientSeconds[r.slowestClient]!),
    ),
    figure(
      'mixed.fairness',
      `${label}: slowest client / client 1 alone`,
      'ratio',
      of((r) => r.slowestRatio),
      {
        bar: BARS.fairnessRatio,
        note,
      },
    ),
    figure(
      'mixed.floor',
      `${label}: all clients' work at the mixed rate / client 1 alone (the lowest ratio any order allows)`,
      'ratio',
      of((r) => r.floorRatio),
    ),
    figure(
      'mixed.fastest',
      `${label}: fastest client / client 1 alone`,
      'ratio',
      of((r) => r.fastestRatio),
    ),
    figure(
      'mixed.rss',
      `${label}: peak server RSS`,
      'MiB',
      of((r) => r.peakRssMb),
      { bar: BARS.serverRssMb },
    ),
    figure(
      'mixed.retries',
      `${label}: kick-offs retried after 429`,
      'retries',
      of((r) => r.retries),
    ),
  );
}
