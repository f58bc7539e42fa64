import type Database from 'better-sqlite3';
import type { FhirResource } from '../fhir/index.js';
import { PreconditionFailedError, groupMemberRefs, patientCompartmentRefs } from '../fhir/index.js';
import type { PreparedResource } from './stamp.js';
import { stampJson } from './stamp.js';
import type { Tombstone, WriteOutcome } from './types.js';

interface CurrentRow {
  rid: number;
  version: number;
  last_updated: number;
  hash: string;
  json: string;
}

/** The prepared statements of every write path; all calls must run inside a transaction. */
export class SqliteWriter {
  private readonly current: Database.Statement<[string, string], CurrentRow>;
  private readonly lastTombstone: Database.Statement<[string, string], { version: number }>;
  private readonly insertRow: Database.Statement;
  private readonly updateRow: Database.Statement;
  private readonly deleteRow: Database.Statement;
  private readonly insertHistory: Database.Statement;
  private readonly insertTombstone: Database.Statement;
  private readonly deleteCompartment: Database.Statement;
  private readonly insertCompartment: Database.Statement;
  private readonly deleteMembers: Database.Statement;
  private readonly insertMember: Database.Statement;
  private readonly deleteGroupSearch: Database.Statement;
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
    this.updateRow = db.prepare(
      'UPDATE resource SET version = ?, last_updated = ?, hash = ?, json = ? WHERE rid = ?',
    );
    this.deleteRow = db.prepare('DELETE FROM resource WHERE rid = ?');
    this.insertHistory = db.prepare(
      'INSERT INTO resource_history (type, id, version, last_updated, ended, json) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.insertTombstone = db.prepare(
      'INSERT INTO tombstone (type, id, version, deleted_at) VALUES (?, ?, ?, ?)',
    );
    this.deleteCompartment = db.prepare('DELETE FROM compartment WHERE rid = ?');
    this.insertCompartment = db.prepare(
      'INSERT OR IGNORE INTO compartment (patient_id, rid, param) VALUES (?, ?, ?)',
    );
    this.deleteMembers = db.prepare('DELETE FROM group_member WHERE group_id = ?');
    this.insertMember = db.prepare(
      'INSERT OR REPLACE INTO group_member (group_id, member_type, member_id, inactive) VALUES (?, ?, ?, ?)',
    );
    this.deleteGroupSearch = db.prepare('DELETE FROM group_search WHERE group_id = ?');
    this.insertGroupSearch = db.prepare('INSERT INTO group_search (group_id, kind, value) VALUES (?, ?, ?)');
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
  write(
    resource: FhirResource,
    prepared: PreparedResource,
    at: number,
    ifMatch?: number,
  ): { outcome: WriteOutcome; versionId: number; lastUpdated: number; json: string } {
    const { type, id } = prepared;
    const row = this.current.get(type, id);
    if (ifMatch !== undefined && row?.version !== ifMatch) {
      throw new PreconditionFailedError(
        `${type}/${id} is at version ${row?.version ?? 'none'}, not ${ifMatch}`,
        {
          expression: 'If-Match',
        },
      );
    }
    if (row && row.hash === prepared.hash) {
      return { outcome: 'unchanged', versionId: row.version, lastUpdated: row.last_updated, json: row.json };
    }
    if (row) {
      const version = row.version + 1;
      const json = stampJson(prepared.template, version, at);
      this.insertHistory.run(type, id, row.version, row.last_updated, at, row.json);
      this.updateRow.run(version, at, prepared.hash, json, row.rid);
      this.index(resource, id, row.rid, true);
      return { outcome: 'updated', versionId: version, lastUpdated: at, json };
    }
    const version = (this.lastTombstone.get(type, id)?.version ?? 0) + 1;
    const json = stampJson(prepared.template, version, at);
    const rid = Number(this.insertRow.run(type, id, version, at, prepared.hash, json).lastInsertRowid);
    this.index(resource, id, rid, false);
    return { outcome: 'created', versionId: version, lastUpdated: at, json };
  }

  /** Delete the current version at instant `at`, leaving a tombstone. */
  remove(type: string, id: string, at: number): Tombstone | undefined {
    const row = this.current.get(type, id);
    if (!row) return undefined;
    const version = row.version + 1;
    this.insertHistory.run(type, id, row.version, row.last_updated, at, row.json);
    this.deleteRow.run(row.rid);
    this.insertTombstone.run(type, id, version, at);
    this.deleteCompartment.run(row.rid);
    if (type === 'Group') {
      this.deleteMembers.run(id);
      this.deleteGroupSearch.run(id);
    }
    return { type, id, versionId: version, deletedAt: at };
  }

  private index(resource: FhirResource, id: string, rid: number, replace: boolean): void {
    if (replace) this.deleteCompartment.run(rid);
    for (const { param, patientId } of patientCompartmentRefs(resource)) {
      this.insertCompartment.run(patientId, rid, param);
    }
    if (resource.resourceType === 'Group') this.indexGroup(resource, id);
  }

  private indexGroup(group: FhirResource, id: string): void {
    this.deleteMembers.run(id);
    this.deleteGroupSearch.run(id);
    for (const { ref, inactive } of groupMemberRefs(group).members) {
      // urn:uuid members carry no type: take the stored type, else Patient (it may load later).
      const memberType = ref.type ?? this.typeOfId.get(ref.id)?.type ?? 'Patient';
      this.insertMember.run(id, memberType, ref.id, inactive ? 1 : 0);
    }
    if (typeof group.name === 'string') this.insertGroupSearch.run(id, 'name', group.name);
    const identifiers = Array.isArray(group.identifier) ? (group.identifier as unknown[]) : [];
    for (const ident of identifiers) {
      if (typeof ident !== 'object' || ident === null) continue;
      const { system, value } = ident as { system?: unknown; value?: unknown };
      if (typeof value !== 'string') continue;
      this.insertGroupSearch.run(id, 'identifier', `${typeof system === 'string' ? system : ''}|${value}`);
      this.insertGroupSearch.run(id, 'identifier-value', value);
    }
  }
}
