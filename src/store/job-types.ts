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
}

/** Durable job and unit state with leases (DESIGN.md §2). */
export interface JobStore {
  /** Create a job with its units in one transaction. */
  createJob(job: NewJob, units: NewUnit[]): Promise<void>;
  getJob(id: string): Promise<JobRecord | undefined>;
  listUnits(jobId: string): Promise<UnitRecord[]>;
  /** Jobs of a client in a given status. */
  countJobs(clientId: string | null, status: JobStatus): Promise<number>;
  /** Lease the next runnable unit (pending, or leased with an expired lease) of a running job. */
  leaseUnit(owner: string, now: number, leaseMs: number): Promise<UnitRecord | undefined>;
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
  /** Change a job's status (cancel, fail). */
  setJobStatus(id: string, status: JobStatus, now: number, error?: string): Promise<void>;
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
