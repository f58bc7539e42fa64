import type { JobStore, UnitRecord } from '../store/index.js';
import { jobOverview } from './job-overview.js';
import type { JobOverview } from './job-overview.js';

/** A worker (thread or `fhirhose worker` process) seen holding live leases. */
export interface WorkerSeen {
  /** Its lease owner id. */
  id: string;
  units: number;
  jobs: number;
}

/** A registered client as the monitor shows it (no keys). */
export interface ClientInfo {
  id: string;
  name: string;
  scope: string;
  createdAt: number;
}

/** A client and what it did lately, from the jobs on view; `clientId` null is "no client" (auth off). */
export interface ClientActivity {
  clientId: string | null;
  /** Null for a job's client that is not (or no longer) registered. */
  name: string | null;
  scope: string | null;
  registeredAt: number | null;
  active: number;
  finished: number;
  /** The newest kick-off on view; null when none is. */
  lastKickoffAt: number | null;
}

/** Every viewer's picture of the export jobs at one moment. */
export interface MonitorSnapshot {
  /** When it was read (epoch ms). */
  at: number;
  jobs: JobOverview[];
  /** More jobs exist than the view holds (the newest finished ones are kept). */
  truncated: boolean;
  workers: WorkerSeen[];
  clients: ClientActivity[];
}

/** Options of {@link ExportMonitor}. */
export interface ExportMonitorOptions {
  jobs: JobStore;
  /** A snapshot is reused for this long, however many viewers ask; default 1000 ms. */
  refreshMs?: number;
  /** Jobs on view at most; default 100. */
  jobLimit?: number;
  /** The registered clients, read with each snapshot; none when authorization is off. */
  clients?: () => Promise<ClientInfo[]>;
  now?: () => number;
}

/**
 * Read-only view of the export jobs for operators. The store is read at most once per `refreshMs`
 * whatever the number of viewers: callers in that window, and callers while a read runs, share it.
 */
export class ExportMonitor {
  private last: MonitorSnapshot | undefined;
  private reading: Promise<MonitorSnapshot> | undefined;
  private readonly refreshMs: number;
  private readonly jobLimit: number;
  private readonly now: () => number;

  constructor(private readonly options: ExportMonitorOptions) {
    this.refreshMs = options.refreshMs ?? 1000;
    this.jobLimit = options.jobLimit ?? 100;
    this.now = options.now ?? Date.now;
  }

  /** The latest snapshot, read afresh when the last one is older than `refreshMs`. */
  async snapshot(): Promise<MonitorSnapshot> {
    if (this.last && this.now() - this.last.at < this.refreshMs) return this.last;
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** Forget the cached snapshot, so the next read shows a change made just now (a cancel). */
  invalidate(): void {
    this.last = undefined;
  }

  private async read(): Promise<MonitorSnapshot> {
    const { jobs: store } = this.options;
    // One more than shown tells whether the view is cut.
    const records = await store.recentJobs(this.jobLimit + 1);
    const shown = records.slice(0, this.jobLimit);
    const units = await store.unitsOfJobs(shown.map((j) => j.id));
    const registered = (await this.options.clients?.()) ?? [];
    const at = this.now();
    const byJob = groupByJob(units);
    const jobs = shown.map((j) => jobOverview(j, byJob.get(j.id) ?? [], at));
    const snapshot: MonitorSnapshot = {
      at,
      jobs,
      truncated: records.length > shown.length,
      workers: workersSeen(jobs),
      clients: clientActivity(jobs, registered),
    };
    this.last = snapshot;
    return snapshot;
  }
}

function groupByJob(units: readonly UnitRecord[]): Map<string, UnitRecord[]> {
  const byJob = new Map<string, UnitRecord[]>();
  for (const u of units) {
    const list = byJob.get(u.jobId);
    if (list) list.push(u);
    else byJob.set(u.jobId, [u]);
  }
  return byJob;
}

function workersSeen(jobs: readonly JobOverview[]): WorkerSeen[] {
  const seen = new Map<string, { units: number; jobs: Set<string> }>();
  for (const job of jobs) {
    for (const u of job.units) {
      if (u.worker === null) continue;
      const w = seen.get(u.worker) ?? { units: 0, jobs: new Set<string>() };
      w.units += 1;
      w.jobs.add(job.id);
      seen.set(u.worker, w);
    }
  }
  return [...seen]
    .map(([id, w]) => ({ id, units: w.units, jobs: w.jobs.size }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

function clientActivity(jobs: readonly JobOverview[], registered: readonly ClientInfo[]): ClientActivity[] {
  const byClient = new Map<string | null, ClientActivity>();
  const entry = (id: string | null): ClientActivity => {
    let a = byClient.get(id);
    if (!a) {
      a = {
        clientId: id,
        name: null,
        scope: null,
        registeredAt: null,
        active: 0,
        finished: 0,
        lastKickoffAt: null,
      };
      byClient.set(id, a);
    }
    return a;
  };
  for (const c of registered)
    Object.assign(entry(c.id), { name: c.name, scope: c.scope, registeredAt: c.createdAt });
  for (const job of jobs) {
    const a = entry(job.clientId);
    if (job.state === 'queued' || job.state === 'running') a.active += 1;
    else a.finished += 1;
    a.lastKickoffAt = Math.max(a.lastKickoffAt ?? 0, job.createdAt);
  }
  // Most recently active first, then the idle ones by registration.
  return [...byClient.values()].sort(
    (a, b) =>
      (b.lastKickoffAt ?? 0) - (a.lastKickoffAt ?? 0) || (a.registeredAt ?? 0) - (b.registeredAt ?? 0),
  );
}
