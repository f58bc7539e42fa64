import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeUnitSpec } from '../../src/export/job-codec.js';
import { planUnits } from '../../src/export/planner.js';
import type { ExportRequest } from '../../src/export/types.js';
import type { UnitSpec } from '../../src/export/unit-spec.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { NewUnit, SqliteStore } from '../../src/store/index.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { tempDir } from '../helpers/temp.js';

const SYSTEM: ExportRequest = {
  level: 'system',
  requestUrl: 'https://x.test/fhir/$export',
  outputFormat: 'application/fhir+ndjson',
  typeFilters: [],
  elements: [],
  includeAssociatedData: [],
  allowPartialManifests: false,
  lenient: false,
  separateExportStatus: false,
  warnings: [],
};

const specs = (units: NewUnit[]): (UnitSpec & { phase: number })[] =>
  units.map((u) => ({ phase: u.phase, ...decodeUnitSpec(u.spec) }));

describe('planUnits (real SQLite store)', () => {
  let store: SqliteStore;
  const ids = ['p1', 'p2', 'p3', 'p4', 'p5'];

  before(async () => {
    store = openSqliteStore(join(tempDir({ after }), 'plan.db'));
    const provenance = ['v1', 'v2', 'v3'].map((id) => ({
      resourceType: 'Provenance',
      id,
      recorded: '2026-01-01T00:00:00Z',
      target: [{ reference: 'Observation/o1' }],
      agent: [{ who: { reference: 'Practitioner/d1' } }],
    }));
    await store.ingest([...ids.map((id) => makePatient(id)), makeObservation('o1', 'p1'), ...provenance]);
  });
  after(async () => store.close());

  // The snapshot instant comes after the loading, as a kick-off's would.
  let options: { rowsPerUnit: number; transactionTime: number; patients: undefined };
  before(() => {
    options = { rowsPerUnit: 2, transactionTime: Date.now() + 1, patients: undefined };
  });

  test('splits each type into contiguous key ranges whose estimates add up to its rows', async () => {
    const units = await planUnits(store, { ...SYSTEM, types: ['Patient'] }, options);
    const ranges = specs(units);
    assert.ok(ranges.length >= 2, 'five rows at two per unit make several ranges');
    assert.ok(ranges.every((s) => s.phase === 0 && s.kind === 'resources' && s.type === 'Patient'));
    // (previous bound, bound]: each range starts where the one before ended; the last is open.
    for (let i = 1; i < ranges.length; i++) {
      const prev = ranges[i - 1] as { upTo?: unknown };
      assert.deepEqual((ranges[i] as { after?: unknown }).after, prev.upTo);
    }
    assert.equal((ranges.at(-1) as { upTo?: unknown }).upTo, undefined);
    assert.equal(
      units.reduce((n, u) => n + u.estimate, 0),
      ids.length,
    );
  });

  test('adds warnings, deletions with _since, and nothing for types not asked for', async () => {
    const request = {
      ...SYSTEM,
      types: ['Observation'],
      since: 0,
      warnings: [{ parameter: 'foo', message: 'ignored' }],
    };
    const kinds = specs(await planUnits(store, request, options)).map((s) => `${s.phase}:${s.kind}`);
    assert.deepEqual(kinds, ['0:warnings', '0:resources', '0:deleted']);
  });

  test('organized output plans patient blocks instead of ranges', async () => {
    const units = await planUnits(
      store,
      { ...SYSTEM, level: 'patient', organizeOutputBy: 'Patient', types: ['Patient', 'Observation'] },
      options,
    );
    const plan = specs(units);
    assert.equal(plan.length, 1);
    assert.deepEqual(plan[0], { phase: 0, kind: 'blocks', patients: ids, types: ['Patient', 'Observation'] });
  });

  test('patient level plans Provenance of the compartment in phase 0, in key ranges beside the types', async () => {
    const plan = specs(await planUnits(store, { ...SYSTEM, level: 'patient' }, options));
    const provenance = plan.filter((s) => s.kind === 'provenance');
    // Three Provenance rows at two per unit: two ranges, (start, bound] and (bound, end).
    assert.equal(provenance.length, 2);
    const bound = (provenance[0] as { upTo?: unknown }).upTo;
    assert.ok(bound);
    assert.deepEqual(provenance, [
      {
        phase: 0,
        kind: 'provenance',
        mode: 'relevant',
        targetTypes: ['Observation', 'Patient'],
        upTo: bound,
      },
      {
        phase: 0,
        kind: 'provenance',
        mode: 'relevant',
        targetTypes: ['Observation', 'Patient'],
        after: bound,
      },
    ]);
    assert.ok(plan.every((s) => s.phase === 0 && (s.kind === 'resources' || s.kind === 'provenance')));
    // `latest` compares every Provenance of a target: one unit.
    const latest = specs(
      await planUnits(
        store,
        { ...SYSTEM, level: 'patient', includeAssociatedData: ['LatestProvenanceResources'] },
        options,
      ),
    ).filter((s) => s.kind === 'provenance');
    assert.deepEqual(latest, [
      { phase: 0, kind: 'provenance', mode: 'latest', targetTypes: ['Observation', 'Patient'] },
    ]);
    // Naming the types without Provenance leaves it out.
    const named = specs(
      await planUnits(store, { ...SYSTEM, level: 'patient', types: ['Observation'] }, options),
    );
    assert.ok(named.every((s) => s.kind === 'resources'));
  });
});
