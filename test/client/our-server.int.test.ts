import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BulkDataClient } from '../../src/client/index.js';
import type { BulkClientOptions, ExportSummary, KickoffRequest } from '../../src/client/index.js';
import { makeGroup, makeObservation, makePatient } from '../helpers/builders.js';
import { registerClient } from '../helpers/auth.js';
import { startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';
import { FAST_WAITS, makeKeys, recorder } from './helpers.js';

interface Line {
  resourceType: string;
  id: string;
}

/** Every line of the files of one kind, parsed. */
function linesOf(summary: ExportSummary, out: string, kind = 'output'): Line[] {
  return summary.files
    .filter((f) => f.kind === kind)
    .flatMap((f) =>
      readFileSync(join(out, f.path), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Line),
    );
}

const keys = (lines: Line[]): string[] => lines.map((r) => `${r.resourceType}/${r.id}`).sort();

describe('client against our server, with SMART Backend Services', () => {
  let srv: TestServer;
  let smart: BulkClientOptions['smart'];
  const suite = suiteScope(after);

  before(async () => {
    srv = await startTestServer(suite, { auth: true });
    const { privateJwk, publicJwk } = await makeKeys('ES384');
    const clientId = await registerClient(srv.runtime, { jwks: { keys: [publicJwk] } }, 'system/*.rs');
    smart = { clientId, privateJwk };
    const patients = ['p1', 'p2', 'p3', 'p4'];
    await srv.runtime.store.ingest([
      ...patients.map((p) => makePatient(p)),
      ...patients.flatMap((p) => [makeObservation(`${p}-o1`, p), makeObservation(`${p}-o2`, p)]),
      makeGroup('g1', ['Patient/p1', 'Patient/p2']),
    ]);
  });

  async function exportTo(
    request: KickoffRequest,
    cleanup = false,
  ): Promise<{ summary: ExportSummary; out: string }> {
    const out = join(tempDir(suite), 'out');
    const rec = recorder();
    const client = new BulkDataClient(srv.baseUrl, {
      smart,
      waits: { ...FAST_WAITS, maxWaitMs: 300 },
      onEvent: rec.listener,
    });
    try {
      const summary = await client.export(request, { outDir: out, cleanup });
      // Our server's URLs live as long as the job, so its manifest is never fetched again (IG F5).
      assert.deepEqual(
        rec.events.filter((e) => e.kind === 'manifest-refresh'),
        [],
      );
      return { summary, out };
    } finally {
      await client.close();
    }
  }

  test('a system export with a discovered token endpoint downloads and verifies every resource', async () => {
    const { summary, out } = await exportTo({ level: 'system', params: {} });
    assert.equal(summary.ok, true);
    assert.equal(summary.requiresAccessToken, true);
    assert.deepEqual(summary.byType, { Group: 1, Observation: 8, Patient: 4 });
    assert.equal(keys(linesOf(summary, out)).length, 13);
    assert.match(summary.transactionTime ?? '', /^\d{4}-\d\d-\d\dT/);
  });

  test('a Patient-level GET export with _type holds every patient and their observations', async () => {
    const { summary } = await exportTo({ level: 'patient', params: { type: ['Patient', 'Observation'] } });
    assert.equal(summary.ok, true);
    assert.deepEqual(summary.byType, { Observation: 8, Patient: 4 });
  });

  test('a Patient-level POST with patient holds only that patient’s compartment', async () => {
    const { summary, out } = await exportTo({
      level: 'patient',
      params: { patient: ['p3'], type: ['Patient', 'Observation'] },
    });
    assert.equal(summary.ok, true);
    assert.deepEqual(keys(linesOf(summary, out)), ['Observation/p3-o1', 'Observation/p3-o2', 'Patient/p3']);
  });

  test('a Group-level export holds only the members', async () => {
    const { summary, out } = await exportTo({ level: 'group', groupId: 'g1', params: { type: ['Patient'] } });
    assert.equal(summary.ok, true);
    assert.deepEqual(keys(linesOf(summary, out)), ['Patient/p1', 'Patient/p2']);
  });

  test('an export with _since gets the changes and a deleted file, and cleanup deletes the job', async () => {
    const first = await exportTo({ level: 'system', params: { type: ['Patient'] } });
    await srv.runtime.store.update(makePatient('p1', { gender: 'female' }));
    await srv.runtime.store.delete('Patient', 'p4');
    const { summary, out } = await exportTo(
      { level: 'system', params: { type: ['Patient'], since: first.summary.transactionTime as string } },
      true,
    );
    assert.equal(summary.ok, true);
    assert.deepEqual(keys(linesOf(summary, out)), ['Patient/p1']);
    const deleted = linesOf(summary, out, 'deleted') as unknown as {
      entry: { request: { url: string } }[];
    }[];
    assert.deepEqual(
      deleted.flatMap((b) => b.entry.map((e) => e.request.url)),
      ['Patient/p4'],
    );
    assert.equal(summary.jobDeleted, true);
    const res = await fetch(summary.statusUrl);
    assert.ok(res.status === 404 || res.status === 401, `status after DELETE: ${res.status}`);
  });
});
