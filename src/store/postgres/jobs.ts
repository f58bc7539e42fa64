import type { PgDb } from './db.js';
import type { JobRecord, JobStatus, JobStore, NewJob, NewUnit, UnitRecord } from '../job-types.js';
import { toJob, toUnit } from '../job-rows.js';
import type { JobRow, UnitRow } from '../job-rows.js';

// A unit a worker may take: of a running job, not held by a live lease, and with every earlier phase
// of its job finished. Aliases: u for export_unit, j for its export_job; $2 is the current time.
const RUNNABLE = `j.status = 'running'
  AND (u.status = 'pending' OR (u.status = 'leased' AND u.lease_expires < $2))
  AND NOT EXISTS (SELECT 1 FROM export_unit p WHERE p.job_id = u.job_id AND p.phase < u.phase
                  AND p.status NOT IN ('done', 'failed'))`;

// Units leased now, per client ('' stands for no client: auth off); $2 is the current time.
const BUSY = `SELECT coalesce(j.client_id, '') AS client_key, count(*) AS n
  FROM export_unit u JOIN export_job j ON j.id = u.job_id
  WHERE u.status = 'leased' AND u.lease_expires >= $2 AND j.status = 'running'
  GROUP BY 1`;

/**
 * Export jobs and units in PostgreSQL. Any number of processes lease units concurrently: a lease takes
 * the first runnable unit that no other transaction holds (`FOR UPDATE SKIP LOCKED`).
 */
export class PgJobStore implements JobStore {
  constructor(private readonly db: PgDb) {}

  async createJob(job: NewJob, units: NewUnit[]): Promise<boolean> {
    const done = units.length === 0;
    return this.db.tx(async (c) => {
      if (job.maxUnfinished !== undefined) {
        // Kick-offs of one client, in any API process, count and insert one at a time.
        await c.query("SELECT pg_advisory_xact_lock(hashtextextended('fhirhose.jobs:' || $1, 0))", [
          job.clientId ?? '',
        ]);
        const open = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM export_job
           WHERE client_id IS NOT DISTINCT FROM $1 AND status = 'running'`,
          [job.clientId],
        );
        if ((open.rows[0]?.n ?? 0) >= job.maxUnfinished) return false;
      }
      await c.query(
        `INSERT INTO export_job (id, client_id, status, request, transaction_time, created_at, completed_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          job.id,
          job.clientId,
          done ? 'completed' : 'running',
          job.request,
          job.transactionTime,
          job.createdAt,
          done ? job.createdAt : null,
          done ? job.createdAt + job.ttlMs : null,
        ],
      );
      await c.query(
        `INSERT INTO export_unit (job_id, seq, phase, spec, estimate, status)
         SELECT $1, u.seq - 1, u.phase, u.spec, u.estimate, 'pending'
         FROM unnest($2::int[], $3::text[], $4::bigint[]) WITH ORDINALITY AS u (phase, spec, estimate, seq)`,
        [job.id, units.map((u) => u.phase), units.map((u) => u.spec), units.map((u) => u.estimate)],
      );
      await c.query(
        `INSERT INTO export_job_patient (job_id, patient_id) SELECT $1, p FROM unnest($2::text[]) AS p
         ON CONFLICT DO NOTHING`,
        [job.id, job.patients ?? []],
      );
      return true;
    });
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const { rows } = await this.db.query<JobRow>('SELECT * FROM export_job WHERE id = $1', [id]);
    return rows[0] ? toJob(rows[0]) : undefined;
  }

  async listUnits(jobId: string): Promise<UnitRecord[]> {
    const { rows } = await this.db.query<UnitRow>(
      'SELECT * FROM export_unit WHERE job_id = $1 ORDER BY seq',
      [jobId],
    );
    return rows.map(toUnit);
  }

  async recentJobs(limit: number): Promise<JobRecord[]> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT * FROM export_job ORDER BY status = 'running' DESC, created_at DESC, id LIMIT $1`,
      [limit],
    );
    return rows.map(toJob);
  }

  async unitsOfJobs(jobIds: readonly string[]): Promise<UnitRecord[]> {
    if (jobIds.length === 0) return [];
    const { rows } = await this.db.query<UnitRow>(
      'SELECT * FROM export_unit WHERE job_id = ANY($1::text[]) ORDER BY job_id, seq',
      [jobIds],
    );
    return rows.map(toUnit);
  }

  async countJobs(clientId: string | null, status: JobStatus): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      'SELECT count(*) AS n FROM export_job WHERE client_id IS NOT DISTINCT FROM $1 AND status = $2',
      [clientId, status],
    );
    return rows[0]?.n ?? 0;
  }

  async leaseUnit(owner: string, now: number, leaseMs: number): Promise<UnitRecord | undefined> {
    return this.db.tx(async (c) => {
      const { rows } = await c.query<UnitRow & { client_key: string }>(
        `WITH busy AS (${BUSY}), next AS (
           SELECT u.job_id, u.seq, coalesce(j.client_id, '') AS client_key
           FROM export_unit u JOIN export_job j ON j.id = u.job_id
           LEFT JOIN busy b ON b.client_key = coalesce(j.client_id, '')
           LEFT JOIN export_client_turn t ON t.client_key = coalesce(j.client_id, '')
           WHERE ${RUNNABLE}
           ORDER BY coalesce(b.n, 0), coalesce(t.last_leased, 0), j.created_at, u.job_id, u.phase,
             u.estimate DESC, u.seq
           LIMIT 1
           FOR UPDATE OF u SKIP LOCKED
         )
         UPDATE export_unit u SET status = 'leased', lease_owner = $1, lease_expires = $3,
           attempts = u.attempts + 1, progress = CASE WHEN u.checkpoint IS NULL THEN 0 ELSE u.progress END
         FROM next
         WHERE u.job_id = next.job_id AND u.seq = next.seq
         RETURNING u.*, next.client_key`,
        [owner, now, now + leaseMs],
      );
      const row = rows[0];
      if (!row) return undefined;
      await c.query('UPDATE export_job SET started_at = $1 WHERE id = $2 AND started_at IS NULL', [
        now,
        row.job_id,
      ]);
      await c.query(
        `INSERT INTO export_client_turn (client_key, last_leased) VALUES ($1, $2)
         ON CONFLICT (client_key) DO UPDATE SET last_leased = GREATEST(export_client_turn.last_leased, $2)`,
        [row.client_key, now],
      );
      const { client_key: _key, ...unit } = row;
      return toUnit(unit);
    });
  }

  async othersWaiting(clientId: string | null, now: number): Promise<boolean> {
    const { rows } = await this.db.query(
      `WITH busy AS (${BUSY})
       SELECT 1 FROM export_unit u JOIN export_job j ON j.id = u.job_id
       LEFT JOIN busy b ON b.client_key = coalesce(j.client_id, '')
       WHERE coalesce(j.client_id, '') <> $1 AND ${RUNNABLE}
         AND coalesce(b.n, 0) < (SELECT coalesce(max(n), 0) FROM busy WHERE client_key = $1)
       LIMIT 1`,
      [clientId ?? '', now],
    );
    return rows.length > 0;
  }

  async jobsAhead(job: { id: string; clientId: string | null; createdAt: number }): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM export_job WHERE client_id IS NOT DISTINCT FROM $1 AND status = 'running'
         AND (created_at, id) < ($2, $3)`,
      [job.clientId, job.createdAt, job.id],
    );
    return rows[0]?.n ?? 0;
  }

  async yieldUnit(
    unit: { jobId: string; seq: number },
    owner: string,
    checkpoint: { spec: string; progress: number },
  ): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE export_unit SET status = 'pending', lease_owner = NULL, lease_expires = NULL,
         attempts = attempts - 1, checkpoint = $1, progress = $2
       WHERE job_id = $3 AND seq = $4 AND status = 'leased' AND lease_owner = $5`,
      [checkpoint.spec, checkpoint.progress, unit.jobId, unit.seq, owner],
    );
    return rowCount === 1;
  }

  async heartbeat(
    unit: { jobId: string; seq: number },
    owner: string,
    until: number,
    progress: number,
  ): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE export_unit SET lease_expires = $1, progress = $2
       WHERE job_id = $3 AND seq = $4 AND status = 'leased' AND lease_owner = $5
         AND EXISTS (SELECT 1 FROM export_job j WHERE j.id = export_unit.job_id AND j.status = 'running')`,
      [until, progress, unit.jobId, unit.seq, owner],
    );
    return rowCount === 1;
  }

  async finishUnit(
    unit: { jobId: string; seq: number },
    owner: string,
    outcome: { status: 'done' | 'failed'; result: string; now: number; ttlMs: number },
  ): Promise<boolean> {
    return this.db.tx(async (c) => {
      // Lock the job first: two units finishing at once must not both see the other still open.
      await c.query('SELECT 1 FROM export_job WHERE id = $1 FOR UPDATE', [unit.jobId]);
      const finished = await c.query(
        `UPDATE export_unit SET status = $1, result = $2, progress = estimate, lease_owner = NULL, lease_expires = NULL
         WHERE job_id = $3 AND seq = $4 AND status = 'leased' AND lease_owner = $5`,
        [outcome.status, outcome.result, unit.jobId, unit.seq, owner],
      );
      if (finished.rowCount !== 1) return false;
      await c.query(
        `UPDATE export_job SET status = 'completed', completed_at = $1, expires_at = $2
         WHERE id = $3 AND status = 'running'
           AND NOT EXISTS (SELECT 1 FROM export_unit WHERE job_id = $3 AND status NOT IN ('done', 'failed'))`,
        [outcome.now, outcome.now + outcome.ttlMs, unit.jobId],
      );
      return true;
    });
  }

  async addPlannedUnits(
    unit: { jobId: string; seq: number },
    owner: string,
    units: NewUnit[],
  ): Promise<boolean> {
    return this.db.tx(async (c) => {
      const held = await c.query(
        `SELECT 1 FROM export_unit WHERE job_id = $1 AND seq = $2 AND status = 'leased' AND lease_owner = $3
         FOR UPDATE`,
        [unit.jobId, unit.seq, owner],
      );
      if (held.rowCount === 0) return false;
      await c.query('DELETE FROM export_unit WHERE job_id = $1 AND seq > $2', [unit.jobId, unit.seq]);
      await c.query(
        `INSERT INTO export_unit (job_id, seq, phase, spec, estimate, status)
         SELECT $1, $2 + u.n, u.phase, u.spec, u.estimate, 'pending'
         FROM unnest($3::int[], $4::text[], $5::bigint[]) WITH ORDINALITY AS u (phase, spec, estimate, n)`,
        [
          unit.jobId,
          unit.seq,
          units.map((u) => u.phase),
          units.map((u) => u.spec),
          units.map((u) => u.estimate),
        ],
      );
      return true;
    });
  }

  async releaseUnit(unit: { jobId: string; seq: number }, owner: string): Promise<void> {
    await this.db.query(
      `UPDATE export_unit SET status = 'pending', lease_owner = NULL, lease_expires = NULL
       WHERE job_id = $1 AND seq = $2 AND status = 'leased' AND lease_owner = $3`,
      [unit.jobId, unit.seq, owner],
    );
  }

  async setJobStatus(
    id: string,
    status: JobStatus,
    now: number,
    error?: string,
    expiresAt?: number,
  ): Promise<void> {
    await this.db.query(
      `UPDATE export_job SET status = $1, completed_at = coalesce(completed_at, $2), error = $3,
         expires_at = coalesce($5, expires_at) WHERE id = $4`,
      [status, now, error ?? null, id, expiresAt ?? null],
    );
  }

  async deleteJob(id: string): Promise<void> {
    await this.db.query('DELETE FROM export_job WHERE id = $1', [id]);
  }

  async jobsToReap(now: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      "SELECT id FROM export_job WHERE status = 'cancelled' OR (expires_at IS NOT NULL AND expires_at < $1)",
      [now],
    );
    return rows.map((r) => r.id);
  }

  async jobPatients(jobId: string): Promise<string[]> {
    const { rows } = await this.db.query<{ patient_id: string }>(
      'SELECT patient_id FROM export_job_patient WHERE job_id = $1',
      [jobId],
    );
    return rows.map((r) => r.patient_id);
  }

  async addRefs(jobId: string, refs: { type: string; id: string }[]): Promise<void> {
    if (refs.length === 0) return;
    await this.db.query(
      `INSERT INTO export_ref (job_id, type, id) SELECT $1, * FROM unnest($2::text[], $3::text[])
       ON CONFLICT DO NOTHING`,
      [jobId, refs.map((r) => r.type), refs.map((r) => r.id)],
    );
  }

  async refIds(jobId: string, type: string, afterId: string, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      'SELECT id FROM export_ref WHERE job_id = $1 AND type = $2 AND id > $3 ORDER BY id LIMIT $4',
      [jobId, type, afterId, limit],
    );
    return rows.map((r) => r.id);
  }
}
