/** Lifecycle of an export job. */
export type JobStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** Lifecycle of one unit of work. `failed` is final: its error is reported and the job still completes. */
export type UnitStatus = 'pending' | 'leased' | 'done' | 'failed';

/** A stored export job. `request` is the ExportRequest as JSON text, opaque to the store. */
export interface JobRecord {
  id: string;
  clientId: string | null;
  status: JobStatus;
  request: string;
  transactionTime: number;
  createdAt: number;
  /** When a worker first took one of its units; null while the job is queued. */
  startedAt: number | null;
  completedAt: number | null;
  expiresAt: number | null;
  error: string | null;
}

/** A unit to create with its job. `spec` is opaque JSON text owned by the export layer. */
export interface NewUnit {
  phase: number;
  spec: string;
  /** Rows the unit is expected to read, for progress. */
  estimate: number;
}

/** A stored unit. */
export interface UnitRecord extends NewUnit {
  jobId: string;
  seq: number;
  status: UnitStatus;
  attempts: number;
  progress: number;
  leaseOwner: string | null;
  leaseExpires: number | null;
  /** Opaque JSON text written by the export layer when the unit finished. */
  result: string | null;
  /**
   * Opaque JSON text written by the export layer when the unit yielded its worker part-way (a time
   * slice ran out while other clients waited): where to resume, and the files already committed.
   */
  checkpoint: string | null;
}

/** A job to create. */
export interface NewJob {
  id: string;
  clientId: string | null;
  request: string;
  transactionTime: number;
  createdAt: number;
  /** How long files are kept once complete (a job with no units completes at once). */
  ttlMs: number;
  /** Patients whose compartments a group or patient-list export covers. */
  patients?: string[];
  /**
   * Refuse the job when its client already has this many unfinished (queued or running) jobs; checked
   * and inserted in one transaction, so parallel kick-offs cannot overshoot it.
   */
  maxUnfinished?: number;
}

/** Durable job and unit state with leases (DESIGN.md §2). */
export interface JobStore {
  /** Create a job with its units in one transaction; false (and nothing created) past `job.maxUnfinished`. */
  createJob(job: NewJob, units: NewUnit[]): Promise<boolean>;
  getJob(id: string): Promise<JobRecord | undefined>;
  listUnits(jobId: string): Promise<UnitRecord[]>;
  /** The newest jobs, unfinished ones first, at most `limit`: what an operator's dashboard shows. */
  recentJobs(limit: number): Promise<JobRecord[]>;
  /** The units of these jobs in one read, by job then seq. */
  unitsOfJobs(jobIds: readonly string[]): Promise<UnitRecord[]>;
  /** Jobs of a client in a given status. */
  countJobs(clientId: string | null, status: JobStatus): Promise<number>;
  /**
   * Lease the next runnable unit (pending, or leased with an expired lease) of a running job, fairly
   * across clients: the client with the fewest units leased now, then the one served longest ago, then
   * its oldest job (DESIGN.md §9).
   */
  leaseUnit(owner: string, now: number, leaseMs: number): Promise<UnitRecord | undefined>;
  /**
   * True when another client, holding fewer units now than `clientId` does, has a unit waiting: the
   * fair share says one of `clientId`'s workers should go to it.
   */
  othersWaiting(clientId: string | null, now: number): Promise<boolean>;
  /** Unfinished jobs of the same client created before this one: its place in the client's queue. */
  jobsAhead(job: { id: string; clientId: string | null; createdAt: number }): Promise<number>;
  /**
   * Give a leased unit back part-way with a checkpoint to resume from; the yield does not count as an
   * attempt, and progress is kept. False if the lease was lost.
   */
  yieldUnit(
    unit: { jobId: string; seq: number },
    owner: string,
    checkpoint: { spec: string; progress: number },
  ): Promise<boolean>;
  /** Extend a lease and record progress; false when the lease was lost or the job stopped. */
  heartbeat(
    unit: { jobId: string; seq: number },
    owner: string,
    until: number,
    progress: number,
  ): Promise<boolean>;
  /** Finish a unit (done or failed) with its result; completes the job when it was the last. False if the lease was lost. */
  finishUnit(
    unit: { jobId: string; seq: number },
    owner: string,
    outcome: { status: 'done' | 'failed'; result: string; now: number; ttlMs: number },
  ): Promise<boolean>;
  /**
   * Replace the units after a leased planning unit with `units` (numbered after it), in one
   * transaction, so a planner that runs again after a crash leaves one plan. False if the lease was lost.
   */
  addPlannedUnits(unit: { jobId: string; seq: number }, owner: string, units: NewUnit[]): Promise<boolean>;
  /** Give a leased unit back so it runs again (after a transient failure). */
  releaseUnit(unit: { jobId: string; seq: number }, owner: string): Promise<void>;
  /**
   * Change a job's status (cancel, fail).
   * @param expiresAt - when given, the reaper removes the job and its files after it (a failed job)
   */
  setJobStatus(id: string, status: JobStatus, now: number, error?: string, expiresAt?: number): Promise<void>;
  /** Forget a job and its units. */
  deleteJob(id: string): Promise<void>;
  /** Jobs whose files expired before `now`, and cancelled jobs, for cleanup. */
  jobsToReap(now: number): Promise<string[]>;
  /** The patient ids recorded with a job. */
  jobPatients(jobId: string): Promise<string[]>;
  /** Record supporting resources referenced by a job's output (duplicates ignored). */
  addRefs(jobId: string, refs: { type: string; id: string }[]): Promise<void>;
  /** Referenced ids of one type, in id order, in pages. */
  refIds(jobId: string, type: string, afterId: string, limit: number): Promise<string[]>;
}
