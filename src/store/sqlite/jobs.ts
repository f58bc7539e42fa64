import type Database from 'better-sqlite3';
import type { JobRecord, JobStatus, JobStore, NewJob, NewUnit, UnitRecord } from '../job-types.js';
import { toJob, toUnit } from '../job-rows.js';
import type { JobRow, UnitRow } from '../job-rows.js';

// A unit a worker may take: of a running job, not held by a live lease, and with every earlier phase
// of its job finished. Aliases: u for export_unit, j for its export_job; @now is the current time.
const RUNNABLE = `j.status = 'running'
  AND (u.status = 'pending' OR (u.status = 'leased' AND u.lease_expires < @now))
  AND NOT EXISTS (SELECT 1 FROM export_unit p WHERE p.job_id = u.job_id AND p.phase < u.phase
                  AND p.status NOT IN ('done', 'failed'))`;

// Units leased now, per client ('' stands for no client: auth off).
const BUSY = `SELECT coalesce(j.client_id, '') AS client_key, count(*) AS n
  FROM export_unit u JOIN export_job j ON j.id = u.job_id
  WHERE u.status = 'leased' AND u.lease_expires >= @now AND j.status = 'running'
  GROUP BY 1`;

/** Export jobs and units in the SQLite file, leased with expiry so a dead worker's unit is redone. */
export class SqliteJobStore implements JobStore {
  constructor(private readonly db: Database.Database) {
    db.pragma('foreign_keys = ON');
  }

  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  async createJob(job: NewJob, units: NewUnit[]): Promise<boolean> {
    return this.tx(() => {
      if (job.maxUnfinished !== undefined) {
        const open = this.db
          .prepare<[string | null], { n: number }>(
            "SELECT count(*) AS n FROM export_job WHERE client_id IS ? AND status = 'running'",
          )
          .get(job.clientId);
        if ((open?.n ?? 0) >= job.maxUnfinished) return false;
      }
      this.db
        .prepare(
          `INSERT INTO export_job (id, client_id, status, request, transaction_time, created_at, completed_at, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          job.id,
          job.clientId,
          units.length === 0 ? 'completed' : 'running',
          job.request,
          job.transactionTime,
          job.createdAt,
          units.length === 0 ? job.createdAt : null,
          units.length === 0 ? job.createdAt + job.ttlMs : null,
        );
      const unit = this.db.prepare(
        `INSERT INTO export_unit (job_id, seq, phase, spec, estimate, status) VALUES (?, ?, ?, ?, ?, 'pending')`,
      );
      units.forEach((u, i) => unit.run(job.id, i, u.phase, u.spec, u.estimate));
      const patient = this.db.prepare(
        'INSERT OR IGNORE INTO export_job_patient (job_id, patient_id) VALUES (?, ?)',
      );
      for (const p of job.patients ?? []) patient.run(job.id, p);
      return true;
    });
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const row = this.db.prepare<[string], JobRow>('SELECT * FROM export_job WHERE id = ?').get(id);
    return row ? toJob(row) : undefined;
  }

  async listUnits(jobId: string): Promise<UnitRecord[]> {
    return this.db
      .prepare<[string], UnitRow>('SELECT * FROM export_unit WHERE job_id = ? ORDER BY seq')
      .all(jobId)
      .map(toUnit);
  }

  async recentJobs(limit: number): Promise<JobRecord[]> {
    return this.db
      .prepare<[number], JobRow>(
        `SELECT * FROM export_job ORDER BY status = 'running' DESC, created_at DESC, id LIMIT ?`,
      )
      .all(limit)
      .map(toJob);
  }

  async unitsOfJobs(jobIds: readonly string[]): Promise<UnitRecord[]> {
    if (jobIds.length === 0) return [];
    return this.db
      .prepare<[string], UnitRow>(
        'SELECT * FROM export_unit WHERE job_id IN (SELECT value FROM json_each(?)) ORDER BY job_id, seq',
      )
      .all(JSON.stringify(jobIds))
      .map(toUnit);
  }

  async countJobs(clientId: string | null, status: JobStatus): Promise<number> {
    const row = this.db
      .prepare<[string | null, JobStatus], { n: number }>(
        'SELECT count(*) AS n FROM export_job WHERE client_id IS ? AND status = ?',
      )
      .get(clientId, status);
    return row?.n ?? 0;
  }

  async leaseUnit(owner: string, now: number, leaseMs: number): Promise<UnitRecord | undefined> {
    return this.tx(() => {
      const row = this.db
        .prepare<{ now: number }, UnitRow & { client_key: string }>(
          `WITH busy AS (${BUSY})
           SELECT u.*, coalesce(j.client_id, '') AS client_key
           FROM export_unit u JOIN export_job j ON j.id = u.job_id
           LEFT JOIN busy b ON b.client_key = coalesce(j.client_id, '')
           LEFT JOIN export_client_turn t ON t.client_key = coalesce(j.client_id, '')
           WHERE ${RUNNABLE}
           ORDER BY coalesce(b.n, 0), coalesce(t.last_leased, 0), j.created_at, u.job_id, u.phase,
             u.estimate DESC, u.seq
           LIMIT 1`,
        )
        .get({ now });
      if (!row) return undefined;
      this.db
        .prepare(
          `UPDATE export_unit SET status = 'leased', lease_owner = ?, lease_expires = ?, attempts = attempts + 1,
             progress = CASE WHEN checkpoint IS NULL THEN 0 ELSE progress END WHERE job_id = ? AND seq = ?`,
        )
        .run(owner, now + leaseMs, row.job_id, row.seq);
      this.db
        .prepare('UPDATE export_job SET started_at = ? WHERE id = ? AND started_at IS NULL')
        .run(now, row.job_id);
      this.db
        .prepare(
          `INSERT INTO export_client_turn (client_key, last_leased) VALUES (?, ?)
           ON CONFLICT (client_key) DO UPDATE SET last_leased = excluded.last_leased`,
        )
        .run(row.client_key, now);
      const { client_key: _key, ...unit } = row;
      return toUnit({
        ...unit,
        status: 'leased',
        lease_owner: owner,
        lease_expires: now + leaseMs,
        attempts: row.attempts + 1,
        progress: row.checkpoint === null ? 0 : row.progress,
      });
    });
  }

  async othersWaiting(clientId: string | null, now: number): Promise<boolean> {
    const row = this.db
      .prepare<{ now: number; client: string }, { x: number }>(
        `WITH busy AS (${BUSY})
         SELECT 1 AS x FROM export_unit u JOIN export_job j ON j.id = u.job_id
         LEFT JOIN busy b ON b.client_key = coalesce(j.client_id, '')
         WHERE coalesce(j.client_id, '') <> @client AND ${RUNNABLE}
           AND coalesce(b.n, 0) < (SELECT coalesce(max(n), 0) FROM busy WHERE client_key = @client)
         LIMIT 1`,
      )
      .get({ now, client: clientId ?? '' });
    return row !== undefined;
  }

  async jobsAhead(job: { id: string; clientId: string | null; createdAt: number }): Promise<number> {
    const row = this.db
      .prepare<[string | null, number, number, string], { n: number }>(
        `SELECT count(*) AS n FROM export_job WHERE client_id IS ? AND status = 'running'
           AND (created_at < ? OR (created_at = ? AND id < ?))`,
      )
      .get(job.clientId, job.createdAt, job.createdAt, job.id);
    return row?.n ?? 0;
  }

  async yieldUnit(
    unit: { jobId: string; seq: number },
    owner: string,
    checkpoint: { spec: string; progress: number },
  ): Promise<boolean> {
    const info = this.db
      .prepare(
        `UPDATE export_unit SET status = 'pending', lease_owner = NULL, lease_expires = NULL,
           attempts = attempts - 1, checkpoint = ?, progress = ?
         WHERE job_id = ? AND seq = ? AND status = 'leased' AND lease_owner = ?`,
      )
      .run(checkpoint.spec, checkpoint.progress, unit.jobId, unit.seq, owner);
    return info.changes === 1;
  }

  async heartbeat(
    unit: { jobId: string; seq: number },
    owner: string,
    until: number,
    progress: number,
  ): Promise<boolean> {
    const info = this.db
      .prepare(
        `UPDATE export_unit SET lease_expires = ?, progress = ?
         WHERE job_id = ? AND seq = ? AND status = 'leased' AND lease_owner = ?
           AND EXISTS (SELECT 1 FROM export_job j WHERE j.id = export_unit.job_id AND j.status = 'running')`,
      )
      .run(until, progress, unit.jobId, unit.seq, owner);
    return info.changes === 1;
  }

  async finishUnit(
    unit: { jobId: string; seq: number },
    owner: string,
    outcome: { status: 'done' | 'failed'; result: string; now: number; ttlMs: number },
  ): Promise<boolean> {
    return this.tx(() => {
      const info = this.db
        .prepare(
          `UPDATE export_unit SET status = ?, result = ?, progress = estimate, lease_owner = NULL, lease_expires = NULL
           WHERE job_id = ? AND seq = ? AND status = 'leased' AND lease_owner = ?`,
        )
        .run(outcome.status, outcome.result, unit.jobId, unit.seq, owner);
      if (info.changes !== 1) return false;
      const open = this.db
        .prepare<[string], { n: number }>(
          "SELECT count(*) AS n FROM export_unit WHERE job_id = ? AND status NOT IN ('done', 'failed')",
        )
        .get(unit.jobId);
      if (open?.n === 0) {
        this.db
          .prepare(
            `UPDATE export_job SET status = 'completed', completed_at = ?, expires_at = ?
             WHERE id = ? AND status = 'running'`,
          )
          .run(outcome.now, outcome.now + outcome.ttlMs, unit.jobId);
      }
      return true;
    });
  }

  async addPlannedUnits(
    unit: { jobId: string; seq: number },
    owner: string,
    units: NewUnit[],
  ): Promise<boolean> {
    return this.tx(() => {
      const held = this.db
        .prepare<[string, number, string], { n: number }>(
          `SELECT count(*) AS n FROM export_unit WHERE job_id = ? AND seq = ? AND status = 'leased' AND lease_owner = ?`,
        )
        .get(unit.jobId, unit.seq, owner);
      if (!held?.n) return false;
      this.db.prepare('DELETE FROM export_unit WHERE job_id = ? AND seq > ?').run(unit.jobId, unit.seq);
      const insert = this.db.prepare(
        `INSERT INTO export_unit (job_id, seq, phase, spec, estimate, status) VALUES (?, ?, ?, ?, ?, 'pending')`,
      );
      units.forEach((u, i) => insert.run(unit.jobId, unit.seq + 1 + i, u.phase, u.spec, u.estimate));
      return true;
    });
  }

  async releaseUnit(unit: { jobId: string; seq: number }, owner: string): Promise<void> {
    this.db
      .prepare(
        `UPDATE export_unit SET status = 'pending', lease_owner = NULL, lease_expires = NULL
         WHERE job_id = ? AND seq = ? AND status = 'leased' AND lease_owner = ?`,
      )
      .run(unit.jobId, unit.seq, owner);
  }

  async setJobStatus(
    id: string,
    status: JobStatus,
    now: number,
    error?: string,
    expiresAt?: number,
  ): Promise<void> {
    this.db
      .prepare(
        `UPDATE export_job SET status = ?, completed_at = coalesce(completed_at, ?), error = ?,
           expires_at = coalesce(?, expires_at) WHERE id = ?`,
      )
      .run(status, now, error ?? null, expiresAt ?? null, id);
  }

  async deleteJob(id: string): Promise<void> {
    this.db.prepare('DELETE FROM export_job WHERE id = ?').run(id);
  }

  async jobsToReap(now: number): Promise<string[]> {
    return this.db
      .prepare<[number], { id: string }>(
        "SELECT id FROM export_job WHERE status = 'cancelled' OR (expires_at IS NOT NULL AND expires_at < ?)",
      )
      .all(now)
      .map((r) => r.id);
  }

  async jobPatients(jobId: string): Promise<string[]> {
    return this.db
      .prepare<[string], { patient_id: string }>('SELECT patient_id FROM export_job_patient WHERE job_id = ?')
      .all(jobId)
      .map((r) => r.patient_id);
  }

  async addRefs(jobId: string, refs: { type: string; id: string }[]): Promise<void> {
    if (refs.length === 0) return;
    const insert = this.db.prepare('INSERT OR IGNORE INTO export_ref (job_id, type, id) VALUES (?, ?, ?)');
    this.tx(() => {
      for (const r of refs) insert.run(jobId, r.type, r.id);
    });
  }

  async refIds(jobId: string, type: string, afterId: string, limit: number): Promise<string[]> {
    return this.db
      .prepare<[string, string, string, number], { id: string }>(
        'SELECT id FROM export_ref WHERE job_id = ? AND type = ? AND id > ? ORDER BY id LIMIT ?',
      )
      .all(jobId, type, afterId, limit)
      .map((r) => r.id);
  }
}
