import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPaths } from '../../src/store/index.js';
import { makeGroup } from '../helpers/builders.js';
import { countDataSet, dataSets, groupPatientIds, readDataSet } from '../helpers/fixtures.js';
import type { DataSetResource as Res } from '../helpers/fixtures.js';
import { readLines, runExport, startTestServer, suiteScope } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

const sets = await dataSets();

const patientOf = (r: Res): string | undefined => {
  const text = JSON.stringify(r);
  return /"reference":"Patient\/([^"]+)"/.exec(text)?.[1];
};

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    for (const set of sets) {
      const counts = countDataSet(set);
      const read = (type: string): Res[] => readDataSet(set, type);
      describe(`Patient- and Group-level $export over the ${set.name} data set`, () => {
        let srv: TestServer;
        const suite = suiteScope(after);
        let groups: Res[];
        let patients: string[];

        before(async () => {
          srv = await startTestServer(suite, { backend });
          await loadPaths(srv.runtime.store, [set.dir]);
          groups = read('Group');
          patients = read('Patient').map((p) => p.id);
          const [g0, g1] = groups;
          await srv.runtime.store.ingest([
            makeGroup('nested', [`Group/${g0!.id}`, `Patient/${patients[99]}`, 'Group/cycle']),
            makeGroup('cycle', ['Group/nested']),
            makeGroup('empty', []),
            makeGroup('pair', [`Patient/${patients[0]}`, `Patient/${patients[1]}`]),
          ]);
          void g1;
        });

        const members = (g: Res): string[] => groupPatientIds(groups, g);

        test('a Group export holds only its members and their compartments', async () => {
          const group = groups[0]!;
          const want = new Set(members(group));
          const manifest = await runExport(`${srv.baseUrl}/Group/${group.id}/$export`);
          assert.deepEqual(manifest.error, []);
          const lines = (await readLines(manifest.output)) as Res[];
          const exportedPatients = lines.filter((r) => r.resourceType === 'Patient').map((r) => r.id);
          assert.deepEqual(exportedPatients.sort(), [...want].sort());
          for (const r of lines) {
            if (
              [
                'Patient',
                'Practitioner',
                'Organization',
                'Location',
                'Medication',
                'PractitionerRole',
                'Device',
              ].includes(r.resourceType)
            )
              continue;
            const p = patientOf(r);
            assert.ok(p !== undefined && want.has(p), `${r.resourceType}/${r.id} belongs to ${p}`);
          }
          const keys = lines.map((r) => `${r.resourceType}/${r.id}`);
          assert.equal(new Set(keys).size, keys.length, 'no resource twice');
        });

        test('a Group export adds the Practitioners and Organizations its resources refer to, each once', async () => {
          const manifest = await runExport(`${srv.baseUrl}/Group/pair/$export`);
          const lines = (await readLines(manifest.output)) as Res[];
          const text = lines
            .filter((r) => r.resourceType === 'Encounter')
            .map((r) => JSON.stringify(r))
            .join('\n');
          const practitioners = new Set(
            [...text.matchAll(/"reference":"Practitioner\/([^"]+)"/g)].map((m) => m[1]),
          );
          const exported = lines.filter((r) => r.resourceType === 'Practitioner').map((r) => r.id);
          assert.ok(practitioners.size > 0);
          assert.equal(new Set(exported).size, exported.length);
          for (const id of practitioners)
            assert.ok(exported.includes(id as string), `Practitioner/${id} missing`);
          assert.ok(lines.some((r) => r.resourceType === 'Organization'));
        });

        test('nested Groups are flattened and a cycle terminates', async () => {
          const manifest = await runExport(`${srv.baseUrl}/Group/nested/$export?_type=Patient`);
          const ids = ((await readLines(manifest.output)) as Res[]).map((r) => r.id).sort();
          assert.deepEqual(ids, [...new Set([...members(groups[0]!), patients[99]!])].sort());
        });

        test('an empty Group exports no patient data', async () => {
          const manifest = await runExport(`${srv.baseUrl}/Group/empty/$export`);
          assert.deepEqual(manifest.output, []);
          assert.deepEqual(manifest.error, []);
        });

        test('an unknown Group is a 404 OperationOutcome', async () => {
          const res = await fetch(`${srv.baseUrl}/Group/nope/$export`, {
            headers: { prefer: 'respond-async' },
          });
          assert.equal(res.status, 404);
          assert.equal(((await res.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
        });

        test('POST patient narrows a Group export, and a non-member is a 400', async () => {
          const group = groups[1]!;
          const [a, b] = members(group);
          const body = (ids: string[]) =>
            JSON.stringify({
              resourceType: 'Parameters',
              parameter: [
                { name: '_type', valueString: 'Patient,Condition' },
                ...ids.map((id) => ({ name: 'patient', valueReference: { reference: `Patient/${id}` } })),
              ],
            });
          const init = (ids: string[]): RequestInit => ({
            method: 'POST',
            body: body(ids),
            headers: { 'content-type': 'application/fhir+json', prefer: 'respond-async' },
          });
          const manifest = await runExport(`${srv.baseUrl}/Group/${group.id}/$export`, init([a!, b!]));
          const lines = (await readLines(manifest.output)) as Res[];
          assert.deepEqual(
            lines
              .filter((r) => r.resourceType === 'Patient')
              .map((r) => r.id)
              .sort(),
            [a, b].sort(),
          );
          for (const c of lines.filter((r) => r.resourceType === 'Condition'))
            assert.ok([a, b].includes(patientOf(c)));
          const outsider = patients.find((p) => !members(group).includes(p))!;
          const res = await fetch(`${srv.baseUrl}/Group/${group.id}/$export`, init([a!, outsider]));
          assert.equal(res.status, 400);
          assert.match(await res.text(), /patient/);
        });

        test('a Patient-level export covers every patient compartment and no unrelated type', async () => {
          const manifest = await runExport(`${srv.baseUrl}/Patient/$export?_type=Patient,Observation,Device`);
          const byType = new Map<string, number>();
          for (const o of manifest.output) byType.set(o.type, (byType.get(o.type) ?? 0) + (o.count ?? 0));
          assert.equal(byType.get('Patient'), counts.byType.get('Patient'));
          assert.equal(byType.get('Observation'), counts.byType.get('Observation'));
        });

        test('patient on a system-level export is a 400', async () => {
          const res = await fetch(`${srv.baseUrl}/$export`, {
            method: 'POST',
            headers: { 'content-type': 'application/fhir+json', prefer: 'respond-async' },
            body: JSON.stringify({
              resourceType: 'Parameters',
              parameter: [{ name: 'patient', valueReference: { reference: `Patient/${patients[0]}` } }],
            }),
          });
          assert.equal(res.status, 400);
        });

        test('_typeFilter is applied with OR across queries of one type', async () => {
          const manifest = await runExport(
            `${srv.baseUrl}/$export?_type=Condition&_typeFilter=${encodeURIComponent('Condition?clinical-status=active')}` +
              `&_typeFilter=${encodeURIComponent('Condition?clinical-status=resolved')}`,
          );
          const lines = (await readLines(manifest.output)) as Res[];
          const all = read('Condition');
          const status = (r: Res): string | undefined =>
            ((r.clinicalStatus as { coding?: { code: string }[] } | undefined)?.coding ?? [])[0]?.code;
          const expected = all.filter((r) => ['active', 'resolved'].includes(status(r) ?? '')).length;
          assert.equal(lines.length, expected);
          assert.ok(lines.length > 0 && lines.length <= all.length);
          assert.ok(lines.every((r) => ['active', 'resolved'].includes(status(r) ?? '')));
        });

        test('_elements keeps the listed and mandatory elements and tags SUBSETTED', async () => {
          const manifest = await runExport(`${srv.baseUrl}/$export?_type=Patient&_elements=gender`);
          const lines = (await readLines(manifest.output)) as Res[];
          assert.equal(lines.length, counts.byType.get('Patient'));
          for (const r of lines) {
            assert.deepEqual(
              Object.keys(r).filter((k) => !['resourceType', 'id', 'meta', 'gender'].includes(k)),
              [],
            );
            const tags = ((r.meta as { tag?: { code: string }[] }).tag ?? []).map((t) => t.code);
            assert.ok(tags.includes('SUBSETTED'));
          }
        });

        test('an unsupported _typeFilter parameter is rejected, never ignored', async () => {
          const res = await fetch(
            `${srv.baseUrl}/$export?_typeFilter=${encodeURIComponent('Observation?_sort=date')}`,
          );
          assert.equal(res.status, 400);
          const res2 = await fetch(
            `${srv.baseUrl}/$export?_typeFilter=${encodeURIComponent('Observation?nonsense=1')}`,
          );
          assert.equal(res2.status, 400);
        });
      });
    }
  });
}
