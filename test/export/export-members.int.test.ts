import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPaths } from '../../src/store/index.js';
import { createStorage } from '../../src/storage/index.js';
import { compileRequest, runUnit, UnitYieldedError } from '../../src/export/unit-runner.js';
import type { UnitContext } from '../../src/export/unit-runner.js';
import { decodeUnit, encodeUnitCheckpoint } from '../../src/export/job-codec.js';
import type { UnitCheckpoint } from '../../src/export/unit-spec.js';
import { makeGroup, makeObservation, makePatient } from '../helpers/builders.js';
import { dataSets } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp.js';
import { kickoff, startTestServer, suiteScope, waitForExport } from '../helpers/server.js';
import type { TestManifest, TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

// Group and patient-list exports read member by member (readPath 'members') must write what the type
// scans write (readPath 'types'). One database; a server set to 'types' runs every request first and is
// closed (servers on one database share their units), then a server set to 'members' runs the same
// requests, and the outputs are compared type by type and id by id, lines byte for byte.

interface Res {
  resourceType: string;
  id: string;
  [k: string]: unknown;
}

/** A manifest's output as type -> sorted lines, each line as exported. */
async function outputByType(manifest: TestManifest): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const entry of manifest.output) {
    const text = await (await fetch(entry.url)).text();
    const lines = out.get(entry.type) ?? [];
    for (const line of text.split('\n')) if (line !== '') lines.push(line);
    out.set(entry.type, lines);
  }
  for (const lines of out.values()) lines.sort();
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** A manifest's deletions: each file's type and lines, sorted. */
async function deletions(manifest: TestManifest): Promise<string[]> {
  const out: string[] = [];
  for (const entry of manifest.deleted ?? []) {
    const text = await (await fetch(entry.url)).text();
    for (const line of text.split('\n')) if (line !== '') out.push(`${entry.type} ${line}`);
  }
  return out.sort();
}

/** A Provenance of `targets` (references), recorded at `recorded`. */
function provenance(id: string, targets: string[], recorded = '2020-01-01T00:00:00Z'): Res {
  return {
    resourceType: 'Provenance',
    id,
    target: targets.map((reference) => ({ reference })),
    recorded,
    agent: [{ who: { reference: 'Practitioner/prov-agent' } }],
  };
}

/** A request both paths run. */
interface Case {
  path: string;
  init?: RequestInit;
}

/** The unit kinds a finished export ran, and its manifest. */
async function run(srv: TestServer, c: Case): Promise<{ kinds: string[]; manifest: TestManifest }> {
  const status = await kickoff(`${srv.baseUrl}${c.path}`, c.init);
  const res = await waitForExport(status);
  assert.equal(res.status, 200, c.path);
  const manifest = (await res.json()) as TestManifest;
  const units = await srv.runtime.store.jobs.listUnits(status.split('/').pop()!);
  const kinds = [...new Set(units.map((u) => (JSON.parse(u.spec) as { kind: string }).kind))].sort();
  return { kinds, manifest };
}

// The largest data set there is (Synthea when present): more patients, Groups and shared resources.
const set = (await dataSets()).at(-1)!;

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    describe(`member-driven exports write what type scans write (${set.name} data set)`, () => {
      const suite = suiteScope(after);
      let members: TestServer;
      let patients: string[];
      const cases = new Map<string, Case>();
      const viaTypes = new Map<
        string,
        { kinds: string[]; output: Map<string, string[]>; deleted: string[] }
      >();

      before(async () => {
        const database = await backend.create();
        suite.after(() => database.drop());
        const typesScope: (() => Promise<void> | void)[] = [];
        const types = await startTestServer(
          { after: (fn) => typesScope.push(fn) },
          { db: database.db, export: { readPath: 'types' } },
        );
        const store = types.runtime.store;
        await loadPaths(store, [set.dir]);
        patients = await store.patientIds(await store.tick());
        const [a, b, c, d] = patients as [string, string, string, string];
        // Shared by two members (subject and performer), and by a member and a non-member.
        await store.ingest([
          makeObservation('shared-ab', a, { performer: [{ reference: `Patient/${b}` }] }),
          makeObservation('shared-dc', d, { performer: [{ reference: `Patient/${patients[5]}` }] }),
          makeObservation('shared-outside', patients[50]!, { performer: [{ reference: `Patient/${b}` }] }),
          makePatient('gone'),
          makeObservation('of-gone', 'gone'),
          // Provenance of a member, of a resource two members share, of non-members only, and untyped.
          provenance('prov-patient', [`Patient/${a}`]),
          provenance('prov-shared', ['Observation/shared-ab', 'Observation/shared-outside']),
          provenance('prov-outside', ['Observation/shared-dc']),
          provenance('prov-untyped', ['urn:uuid:7d9f6a3e-2b1c-4e5f-8a9b-0c1d2e3f4a5b']),
          provenance('prov-old', [`Patient/${c}`], '1890-01-01T00:00:00Z'),
        ]);
        const midway = new Date((await store.tick()) + 1).toISOString();
        await new Promise((r) => setTimeout(r, 5));
        // Changed after _since: new versions, and the deletion of a member patient.
        await store.update(
          makeObservation('shared-ab', a, { status: 'amended', performer: [{ reference: `Patient/${b}` }] }),
        );
        await store.update(makePatient(c, { gender: 'unknown' }));
        await store.update(provenance('prov-outside', ['Observation/shared-dc', `Observation/shared-ab`]));
        await store.delete('Patient', 'gone');
        const tenth = patients.filter((_, i) => i % 10 === 0);
        await store.ingest([
          makeGroup(
            'tenth',
            [...tenth, b, c, 'gone'].map((p) => `Patient/${p}`),
          ),
          makeGroup('one', [`Patient/${patients[7]}`]),
          makeGroup('outer', ['Group/one', `Patient/${d}`, 'Group/loop']),
          makeGroup('loop', ['Group/outer']),
          makeGroup('pair', [`Patient/${a}`, `Patient/${b}`]),
        ]);
        const list = JSON.stringify({
          resourceType: 'Parameters',
          parameter: [patients[3], patients[4], patients[1]].map((id) => ({
            name: 'patient',
            valueReference: { reference: `Patient/${id}` },
          })),
        });
        const filter = encodeURIComponent('Observation?status=amended');
        const all: [string, Case][] = [
          ['tenth', { path: '/Group/tenth/$export' }],
          ['one', { path: '/Group/one/$export' }],
          ['outer', { path: '/Group/outer/$export' }],
          ['typed', { path: '/Group/tenth/$export?_type=Patient,Encounter,Observation' }],
          ['since', { path: `/Group/tenth/$export?_since=${encodeURIComponent(midway)}` }],
          ['latest', { path: '/Group/pair/$export?includeAssociatedData=LatestProvenanceResources' }],
          ['filter', { path: `/Group/tenth/$export?_type=Observation,Patient&_typeFilter=${filter}` }],
          ['elements', { path: '/Group/tenth/$export?_type=Patient,Condition&_elements=subject,gender' }],
          [
            'provenance',
            {
              path: `/Group/tenth/$export?_type=Patient,Observation,Provenance&_typeFilter=${encodeURIComponent(
                'Provenance?recorded=ge1900-01-01',
              )}&_elements=target,recorded`,
            },
          ],
          [
            'list',
            {
              path: '/Patient/$export',
              init: {
                method: 'POST',
                body: list,
                headers: { 'content-type': 'application/fhir+json', prefer: 'respond-async' },
              },
            },
          ],
        ];
        for (const [name, c] of all) {
          cases.set(name, c);
          const { kinds, manifest } = await run(types, c);
          viaTypes.set(name, {
            kinds,
            output: await outputByType(manifest),
            deleted: await deletions(manifest),
          });
        }
        for (const fn of typesScope.reverse()) await fn();
        members = await startTestServer(suite, {
          db: database.db,
          export: { readPath: 'members', workers: 2 },
        });
      });

      /** Run a case on the member path and compare with the type path; the member path's output. */
      let memberKinds: string[] = [];
      const compare = async (name: string): Promise<Map<string, string[]>> => {
        const { kinds, manifest } = await run(members, cases.get(name)!);
        memberKinds = kinds;
        const plain = viaTypes.get(name)!;
        // SQLite reads members by row id ranges (memberRange), PostgreSQL by patients (members).
        const memberPath = (ks: string[]): boolean => ks.includes('members') || ks.includes('memberRange');
        assert.ok(memberPath(kinds) && !kinds.includes('resources'), `member path: ${kinds.join()}`);
        assert.ok(plain.kinds.includes('resources') && !memberPath(plain.kinds), plain.kinds.join());
        assert.deepEqual(manifest.error, []);
        const want = plain.output;
        const got = await outputByType(manifest);
        assert.deepEqual([...got.keys()], [...want.keys()], 'the same types');
        const ids = (ls: string[]): string[] => ls.map((l) => (JSON.parse(l) as Res).id).sort();
        for (const [type, lines] of want) {
          assert.deepEqual(ids(got.get(type)!), ids(lines), `${type}: the same ids`);
          assert.deepEqual(got.get(type), lines, `${type}: the same lines`);
          assert.equal(new Set(ids(lines)).size, lines.length, `${type}: each resource once`);
        }
        assert.deepEqual(await deletions(manifest), plain.deleted);
        return got;
      };

      test('a Group of a tenth of the patients, with shared resources and a deleted member', async () => {
        const got = await compare('tenth');
        const observations = got.get('Observation')!.join('\n');
        assert.ok(
          observations.includes('"id":"shared-ab"') && observations.includes('"id":"shared-outside"'),
        );
        assert.ok(!observations.includes('"id":"shared-dc"'), 'neither owner is a member');
        assert.ok(got.has('Practitioner') && got.has('Organization'), 'supporting resources');
        assert.ok(got.get('Patient')!.length >= 10);
      });

      test('a Group of one patient, and nested Groups with a cycle', async () => {
        assert.equal((await compare('one')).get('Patient')!.length, 1);
        assert.equal((await compare('outer')).get('Patient')!.length, 2);
      });

      test('_type, _since and includeAssociatedData', async () => {
        const typed = await compare('typed');
        assert.ok(
          ['Encounter', 'Observation', 'Patient'].every((t) => typed.has(t)) && !typed.has('Condition'),
        );
        const since = await compare('since');
        const changed = [...since.values()].flat().map((l) => (JSON.parse(l) as Res).id);
        assert.ok(
          changed.includes('shared-ab') && changed.includes(patients[2]!),
          'the versions after _since',
        );
        assert.ok(changed.length < 20, 'and little else');
        assert.ok(
          viaTypes.get('since')!.deleted.some((l) => l.includes('Patient/gone')),
          'the deleted member',
        );
        await compare('latest');
      });

      test('_typeFilter and _elements on the member path', async () => {
        assert.ok((await compare('filter')).has('Observation'));
        assert.ok((await compare('elements')).has('Condition'));
      });

      test('Provenance read through the target index, with its _typeFilter and _elements', async () => {
        const plain = viaTypes.get('provenance')!;
        assert.ok(plain.kinds.includes('provenance'), 'the type path scans Provenance');
        const got = await compare('provenance');
        assert.ok(!memberKinds.includes('provenance'), `no Provenance scan: ${memberKinds.join()}`);
        // The generated data set (used without ../shared) has Provenance of its own; `compare` checked
        // those against the type path, so only the seeded ones are named here.
        const ids = (got.get('Provenance') ?? [])
          .map((l) => (JSON.parse(l) as Res).id)
          .filter((id) => id.startsWith('prov-'))
          .sort();
        assert.deepEqual(ids, ['prov-outside', 'prov-patient', 'prov-shared'], 'prov-old is filtered out');
      });

      test('a members unit that checkpoints and resumes writes what an uninterrupted one writes', async (t) => {
        const store = members.runtime.store;
        const status = await kickoff(`${members.baseUrl}/Group/tenth/$export`);
        assert.equal((await waitForExport(status)).status, 200);
        const job = (await store.jobs.getJob(status.split('/').pop()!))!;
        const unit = (await store.jobs.listUnits(job.id)).find((u) =>
          /"members"|"memberRange"/.test(u.spec),
        )!;
        const compiled = await compileRequest(store, job);
        const storage = await createStorage({ kind: 'local', root: tempDir(t) });
        const ctx = (over: Partial<UnitContext> = {}): UnitContext => ({
          store,
          storage,
          fileMaxBytes: 1 << 20,
          rowsPerUnit: 1000,
          memberBatchPatients: 3,
          memberBatchRows: 40,
          progress: async () => true,
          savePlan: async () => true,
          yieldNow: async () => false,
          saveCheckpoint: async () => true,
          ...over,
        });
        const read = async (files: { type: string; name: string }[]): Promise<string[]> => {
          const out: string[] = [];
          for (const f of files) {
            const chunks: Buffer[] = [];
            for await (const c of storage.read(job.id, f.name)) chunks.push(c as Buffer);
            for (const l of Buffer.concat(chunks).toString('utf8').split('\n'))
              if (l) out.push(`${f.type} ${l}`);
          }
          return out.sort();
        };
        const whole = await read(
          (await runUnit({ ctx: ctx(), job, compiled, unit, ...decodeUnit({ ...unit, checkpoint: null }) }))
            .files,
        );
        let saved: UnitCheckpoint | undefined;
        let asked = 0;
        const paused = ctx({
          // Yield after the second batch.
          yieldNow: async () => ++asked === 2,
          saveCheckpoint: async (cp) => ((saved = cp), true),
        });
        await assert.rejects(
          runUnit({ ctx: paused, job, compiled, unit, ...decodeUnit({ ...unit, checkpoint: null }) }),
          UnitYieldedError,
        );
        assert.ok(
          (saved?.afterPatient !== undefined || saved?.afterRid !== undefined) && saved.files.length > 0,
          'a checkpoint after a patient or a row id',
        );
        const resumed = await runUnit({
          ctx: ctx(),
          job,
          compiled,
          unit,
          ...decodeUnit({ ...unit, checkpoint: encodeUnitCheckpoint(saved!) }),
        });
        assert.deepEqual(await read(resumed.files), whole);
        assert.ok(whole.length > 50);
      });

      test('a POSTed patient list', async () => {
        assert.equal((await compare('list')).get('Patient')!.length, 3);
      });
    });
  });
}
