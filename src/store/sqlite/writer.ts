import type Database from 'better-sqlite3';
import { formatInstant } from '../../fhir/index.js';
import type { PreparedBatch } from '../prepared-batch.js';
import { BatchCursor, INSTANT_LENGTH } from '../prepared-batch.js';
import type { GroupIndex, IndexEntries, PreparedRow } from '../prepared-row.js';
import { stampJson } from '../stamp.js';
import type { IngestSummary, Tombstone } from '../types.js';
import { unchangedWrite } from '../write-check.js';
import type { CurrentVersion, WriteDone } from '../write-check.js';

/** Index rows (compartment, Provenance target) per multi-row INSERT: one statement call costs about as much as three rows. */
const COMPARTMENT_ROWS_PER_INSERT = 64;

interface CurrentRow extends CurrentVersion {
  rid: number;
}

/** The prepared statements of every write path; all calls must run inside a transaction. */
export class SqliteWriter {
  private readonly current: Database.Statement<[string, string], CurrentRow>;
  private readonly lastTombstone: Database.Statement<[string, string], { version: number }>;
  private readonly insertRow: Database.Statement;
  private readonly insertNew: Database.Statement;
  private readonly anyTombstone: Database.Statement<[string], { one: number }>;
  private readonly updateRow: Database.Statement;
  private readonly deleteRow: Database.Statement;
  private readonly insertHistory: Database.Statement;
  private readonly insertTombstone: Database.Statement;
  private readonly deleteCompartment: Database.Statement;
  private readonly insertCompartment: Database.Statement;
  private readonly insertCompartments: Database.Statement;
  /** Compartment rows of fresh inserts, written `COMPARTMENT_ROWS_PER_INSERT` at a time. */
  private readonly pending: (string | number)[] = [];
  private readonly deleteMembers: Database.Statement;
  private readonly insertMember: Database.Statement;
  private readonly deleteGroupSearch: Database.Statement;
  private readonly deleteTargets: Database.Statement;
  private readonly insertTarget: Database.Statement;
  private readonly insertTargets: Database.Statement;
  /** Target index rows of fresh inserts, written in key order when the batch's rows are written. */
  private readonly pendingTargets: [string, string, number][] = [];
  private readonly insertGroupSearch: Database.Statement;
  private readonly typeOfId: Database.Statement<[string], { type: string }>;
  private readonly readClock: Database.Statement<[], { value: string }>;
  private readonly writeClock: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.current = db.prepare(
      'SELECT rid, version, last_updated, hash, json FROM resource WHERE type = ? AND id = ?',
    );
    this.lastTombstone = db.prepare(
      'SELECT version FROM tombstone WHERE type = ? AND id = ? ORDER BY version DESC LIMIT 1',
    );
    this.insertRow = db.prepare(
      'INSERT INTO resource (type, id, version, last_updated, hash, json) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.insertNew = db.prepare(
      // The JSON comes as UTF-8 bytes; CAST stores them as TEXT without a conversion.
      'INSERT INTO resource (type, id, version, last_updated, hash, json) VALUES (?, ?, 1, ?, ?, CAST(? AS TEXT)) ' +
        'ON CONFLICT (type, id) DO NOTHING',
    );
    this.anyTombstone = db.prepare('SELECT 1 AS one FROM tombstone WHERE type = ? LIMIT 1');
    this.updateRow = db.prepare(
      'UPDATE resource SET version = ?, last_updated = ?, hash = ?, json = ? WHERE rid = ?',
    );
    this.deleteRow = db.prepare('DELETE FROM resource WHERE rid = ?');
    this.insertHistory = db.prepare(
      'INSERT INTO resource_history (type, id, version, last_updated, ended, json, rid) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertTombstone = db.prepare(
      'INSERT INTO tombstone (type, id, version, deleted_at) VALUES (?, ?, ?, ?)',
    );
    this.deleteCompartment = db.prepare('DELETE FROM compartment WHERE rid = ?');
    this.insertCompartment = db.prepare(
      'INSERT OR IGNORE INTO compartment (patient_id, rid, param) VALUES (?, ?, ?)',
    );
    this.insertCompartments = db.prepare(
      'INSERT OR IGNORE INTO compartment (patient_id, rid, param) VALUES ' +
        Array.from({ length: COMPARTMENT_ROWS_PER_INSERT }, () => '(?, ?, ?)').join(', '),
    );
    this.deleteMembers = db.prepare('DELETE FROM group_member WHERE group_id = ?');
    this.insertMember = db.prepare(
      'INSERT OR REPLACE INTO group_member (group_id, member_type, member_id, inactive) VALUES (?, ?, ?, ?)',
    );
    this.deleteGroupSearch = db.prepare('DELETE FROM group_search WHERE group_id = ?');
    this.insertGroupSearch = db.prepare('INSERT INTO group_search (group_id, kind, value) VALUES (?, ?, ?)');
    this.deleteTargets = db.prepare('DELETE FROM provenance_target WHERE rid = ?');
    this.insertTarget = db.prepare(
      'INSERT OR IGNORE INTO provenance_target (target_type, target_id, rid) VALUES (?, ?, ?)',
    );
    this.insertTargets = db.prepare(
      'INSERT OR IGNORE INTO provenance_target (target_type, target_id, rid) VALUES ' +
        Array.from({ length: COMPARTMENT_ROWS_PER_INSERT }, () => '(?, ?, ?)').join(', '),
    );
    this.typeOfId = db.prepare(
      "SELECT type FROM resource WHERE id = ? AND type IN ('Patient', 'Group') LIMIT 1",
    );
    this.readClock = db.prepare("SELECT value FROM kv WHERE key = 'clock'");
    this.writeClock = db.prepare(
      "INSERT INTO kv (key, value) VALUES ('clock', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
  }

  /** Allocate the next instant: strictly after the last one handed out, and not before the wall clock. */
  tick(now: number): number {
    const last = Number(this.readClock.get()?.value ?? 0);
    const next = Math.max(now, last + 1);
    this.writeClock.run(String(next));
    return next;
  }

  /** Write one prepared resource at instant `at`. */
  write(row: PreparedRow, at: number, ifMatch?: number): WriteDone {
    const { type, id } = row;
    const current = this.current.get(type, id);
    const unchanged = unchangedWrite(row, current, ifMatch);
    if (unchanged) return unchanged;
    if (current) {
      const version = current.version + 1;
      const json = stampJson(row, version, formatInstant(at));
      this.insertHistory.run(type, id, current.version, current.last_updated, at, current.json, current.rid);
      this.updateRow.run(version, at, row.hash, json, current.rid);
      this.index(row, current.rid, true);
      return { outcome: 'updated', versionId: version, lastUpdated: at, json };
    }
    const version = (this.lastTombstone.get(type, id)?.version ?? 0) + 1;
    const json = stampJson(row, version, formatInstant(at));
    const rid = Number(this.insertRow.run(type, id, version, at, row.hash, json).lastInsertRowid);
    this.index(row, rid, false);
    return { outcome: 'created', versionId: version, lastUpdated: at, json };
  }

  /**
   * Write a batch at one instant. A type that was never deleted has no tombstone to continue from, so
   * its rows are inserted at version 1 straight away; only those whose id already exists take the
   * read-compare-update path of `write`.
   */
  writeBatch(batch: PreparedBatch, at: number): IngestSummary {
    const summary: IngestSummary = { created: 0, updated: 0, unchanged: 0 };
    const instant = formatInstant(at);
    const instantBytes = Buffer.from(instant, 'latin1');
    const row = new BatchCursor(batch);
    try {
      this.writeRows(row, at, instantBytes, summary);
    } finally {
      // After a failure the transaction rolls back: rows queued for it must not reach the next one.
      this.pending.length = 0;
      this.pendingTargets.length = 0;
    }
    return summary;
  }

  private writeRows(row: BatchCursor, at: number, instantBytes: Uint8Array, summary: IngestSummary): void {
    const fresh = new Map<string, boolean>();
    while (row.next()) {
      let typeIsFresh = fresh.get(row.type);
      if (typeIsFresh === undefined) {
        typeIsFresh = instantBytes.length === INSTANT_LENGTH && this.anyTombstone.get(row.type) === undefined;
        fresh.set(row.type, typeIsFresh);
      }
      if (typeIsFresh) {
        const result = this.insertNew.run(row.type, row.id, at, row.hash, row.jsonAtVersion1(instantBytes));
        if (result.changes === 1) {
          const rid = Number(result.lastInsertRowid);
          this.queueCompartment(row.compartment, rid);
          if (row.group) this.indexGroup(row.id, row.group);
          if (row.targets) {
            for (let i = 0; i < row.targets.length; i += 2)
              this.pendingTargets.push([row.targets[i]!, row.targets[i + 1]!, rid]);
          }
          summary.created += 1;
          continue;
        }
      }
      // An update replaces index rows by rid: those still queued must be written first.
      this.flushCompartments();
      this.flushTargets();
      summary[this.write(row.toRow(), at).outcome] += 1;
    }
    this.flushCompartments();
    this.flushTargets();
  }

  /**
   * Write the queued target index rows in key order: target ids are random, so rows in load order
   * would touch a page of the index each; sorted, a batch's rows sweep it once (at 1M generated
   * resources, unsorted single-row inserts cost a load about a tenth more CPU).
   */
  private flushTargets(): void {
    const rows = this.pendingTargets;
    if (rows.length === 0) return;
    rows.sort(([t1, i1, r1], [t2, i2, r2]) =>
      t1 !== t2 ? (t1 < t2 ? -1 : 1) : i1 !== i2 ? (i1 < i2 ? -1 : 1) : r1 - r2,
    );
    const n = COMPARTMENT_ROWS_PER_INSERT;
    let i = 0;
    for (; i + n <= rows.length; i += n) this.insertTargets.run(rows.slice(i, i + n).flat());
    for (; i < rows.length; i++) this.insertTarget.run(rows[i]);
    rows.length = 0;
  }

  private queueCompartment(refs: readonly string[], rid: number): void {
    const pending = this.pending;
    for (let i = 0; i < refs.length; i += 2) {
      pending.push(refs[i] as string, rid, refs[i + 1] as string);
      if (pending.length === 3 * COMPARTMENT_ROWS_PER_INSERT) {
        this.insertCompartments.run(pending);
        pending.length = 0;
      }
    }
  }

  private flushCompartments(): void {
    const pending = this.pending;
    for (let i = 0; i < pending.length; i += 3)
      this.insertCompartment.run(pending[i], pending[i + 1], pending[i + 2]);
    pending.length = 0;
  }

  /** Delete the current version at instant `at`, leaving a tombstone. */
  remove(type: string, id: string, at: number): Tombstone | undefined {
    const row = this.current.get(type, id);
    if (!row) return undefined;
    const version = row.version + 1;
    this.insertHistory.run(type, id, row.version, row.last_updated, at, row.json, row.rid);
    this.deleteRow.run(row.rid);
    this.insertTombstone.run(type, id, version, at);
    this.deleteCompartment.run(row.rid);
    if (type === 'Provenance') this.deleteTargets.run(row.rid);
    if (type === 'Group') {
      this.deleteMembers.run(id);
      this.deleteGroupSearch.run(id);
    }
    return { type, id, versionId: version, deletedAt: at };
  }

  private index(row: IndexEntries & { type: string; id: string }, rid: number, replace: boolean): void {
    if (replace) this.deleteCompartment.run(rid);
    const refs = row.compartment;
    for (let i = 0; i < refs.length; i += 2) this.insertCompartment.run(refs[i], rid, refs[i + 1]);
    if (row.group) this.indexGroup(row.id, row.group);
    if (replace && row.type === 'Provenance') this.deleteTargets.run(rid);
    if (row.targets) this.indexTargets(row.targets, rid);
  }

  private indexTargets(targets: readonly string[], rid: number): void {
    for (let i = 0; i < targets.length; i += 2) this.insertTarget.run(targets[i], targets[i + 1], rid);
  }

  private indexGroup(id: string, group: GroupIndex): void {
    this.deleteMembers.run(id);
    this.deleteGroupSearch.run(id);
    for (const member of group.members) {
      // urn:uuid members carry no type: take the stored type, else Patient (it may load later).
      const memberType = member.type ?? this.typeOfId.get(member.id)?.type ?? 'Patient';
      this.insertMember.run(id, memberType, member.id, member.inactive ? 1 : 0);
    }
    for (const [kind, value] of group.search) this.insertGroupSearch.run(id, kind, value);
  }
}
