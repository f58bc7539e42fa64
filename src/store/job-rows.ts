// Row shapes of the job tables and their mapping to records, shared by the SQLite and PostgreSQL job stores.
import type { JobRecord, JobStatus, UnitRecord } from './job-types.js';

/** A row of export_job. */
export interface JobRow {
  id: string;
  client_id: string | null;
  status: JobStatus;
  request: string;
  transaction_time: number;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  expires_at: number | null;
  error: string | null;
}

/** A row of export_unit. */
export interface UnitRow {
  job_id: string;
  seq: number;
  phase: number;
  spec: string;
  estimate: number;
  progress: number;
  status: UnitRecord['status'];
  attempts: number;
  lease_owner: string | null;
  lease_expires: number | null;
  result: string | null;
  checkpoint: string | null;
}

/** An export_job row as a record. */
export const toJob = (r: JobRow): JobRecord => ({
  id: r.id,
  clientId: r.client_id,
  status: r.status,
  request: r.request,
  transactionTime: r.transaction_time,
  createdAt: r.created_at,
  startedAt: r.started_at,
  completedAt: r.completed_at,
  expiresAt: r.expires_at,
  error: r.error,
});

/** An export_unit row as a record. */
export const toUnit = (r: UnitRow): UnitRecord => ({
  jobId: r.job_id,
  seq: r.seq,
  phase: r.phase,
  spec: r.spec,
  estimate: r.estimate,
  progress: r.progress,
  status: r.status,
  attempts: r.attempts,
  leaseOwner: r.lease_owner,
  leaseExpires: r.lease_expires,
  result: r.result,
  checkpoint: r.checkpoint,
});
