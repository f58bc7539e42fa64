// Many clients at once (issue 12): queued kick-offs with a per-client cap, round-robin between
// clients, and heavy units that checkpoint and give their worker to a waiting client.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FhirResource } from '../../src/fhir/index.js';
import { getToken, jwksOf, makeKey, registerClient } from '../helpers/auth.js';
import type { TestKey } from '../helpers/auth.js';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { startTestServer, waitForExport } from '../helpers/server.js';
import type { TestManifest, TestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

interface Client {
  id: string;
  token: string;
}

async function addClient(srv: TestServer, key: TestKey): Promise<Client> {
  const id = await registerClient(srv.runtime, { jwks: jwksOf(key) });
  return { id, token: await getToken(`${srv.baseUrl}/auth/token`, { id, key }) };
}

async function clients(srv: TestServer, n: number): Promise<Client[]> {
  const key = await makeKey();
  return Promise.all(Array.from({ length: n }, () => addClient(srv, key)));
}

const auth = (c: Client): Record<string, string> => ({ authorization: `Bearer ${c.token}` });

/** A kick-off's raw answer. */
async function kick(url: string, c: Client, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    ...init,
    headers: { prefer: 'respond-async', accept: 'application/fhir+json', ...auth(c), ...init.headers },
  });
}

async function accepted(url: string, c: Client, init: RequestInit = {}): Promise<string> {
  const res = await kick(url, c, init);
  const text = await res.text();
  assert.equal(res.status, 202, text);
  return res.headers.get('content-location')!;
}

async function manifestOf(status: string, c: Client): Promise<TestManifest> {
  const res = await waitForExport(status, auth(c), 400);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as TestManifest;
}

/** Every line of a manifest's output, as `Type/id`, with the file names that held them. */
async function outputOf(
  m: TestManifest,
  c: Client,
): Promise<{ keys: string[]; files: string[]; amended: number }> {
  const keys: string[] = [];
  let amended = 0;
  for (const f of m.output) {
    const text = await (await fetch(f.url, { headers: auth(c) })).text();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as FhirResource;
      keys.push(`${r.resourceType}/${String(r.id)}`);
      if (r.status === 'amended') amended += 1;
    }
  }
  return {
    keys: keys.sort(),
    amended,
    files: m.output.map((f) => decodeURIComponent(f.url.split('/').pop()!)),
  };
}

const jobIdOf = (status: string): string => status.split('/').pop()!;

function people(n: number, observationsEach: number): FhirResource[] {
  const out: FhirResource[] = [];
  for (let p = 0; p < n; p++) {
    out.push(makePatient(`p${p}`));
    for (let o = 0; o < observationsEach; o++) out.push(makeObservation(`o${p}-${o}`, `p${p}`));
  }
  return out;
}

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    describe('queued kick-offs', () => {
      test('50 parallel kick-offs of one client: 20 accepted and complete unmixed, 30 get 429', async (t) => {
        // No worker until every kick-off is answered: a job that completed meanwhile would free a place.
        const srv = await startTestServer(t, { backend, auth: true, export: { workers: 0 } });
        await srv.runtime.store.ingest(people(25, 3));
        const [c] = await clients(srv, 1);
        const answers = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            kick(`${srv.baseUrl}/Patient/$export?_type=Observation&_typeFilter=${filterFor(i)}`, c!),
          ),
        );
        const ok = answers.filter((r) => r.status === 202);
        const refused = answers.filter((r) => r.status === 429);
        assert.equal(ok.length, 20);
        assert.equal(refused.length, 30);
        for (const r of refused) {
          assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
          const outcome = (await r.json()) as { issue: { code: string; diagnostics: string }[] };
          assert.equal(outcome.issue[0]!.code, 'throttled');
          assert.match(outcome.issue[0]!.diagnostics, /20 exports of this client are queued or running/);
        }
        srv.runtime.pool.start(1);
        const byIndex = answers
          .map((r, i) => ({ r, i }))
          .filter(({ r }) => r.status === 202)
          .map(({ r, i }) => ({ i, status: r.headers.get('content-location')! }));
        for (const { i, status } of byIndex) {
          const { keys } = await outputOf(await manifestOf(status, c!), c!);
          const p = i % 25;
          assert.deepEqual(keys, [0, 1, 2].map((o) => `Observation/o${p}-${o}`).sort(), `job ${i}`);
        }
        // Kept finished jobs do not count: the client may start more at once.
        assert.equal((await kick(`${srv.baseUrl}/$export?_type=Patient`, c!)).status, 202);
      });

      test('ten kick-offs from each of five clients are all accepted and all complete', async (t) => {
        const srv = await startTestServer(t, { backend, auth: true });
        await srv.runtime.store.ingest(people(10, 2));
        const five = await clients(srv, 5);
        const started = await Promise.all(
          five.flatMap((c) =>
            Array.from({ length: 10 }, async () => ({
              c,
              status: await accepted(`${srv.baseUrl}/$export?_type=Patient,Observation`, c),
            })),
          ),
        );
        assert.equal(started.length, 50);
        for (const { c, status } of started) {
          const { keys } = await outputOf(await manifestOf(status, c), c);
          assert.equal(keys.length, 30);
        }
      });

      test('a queued job says so in X-Progress, with the client’s jobs ahead of it', async (t) => {
        const srv = await startTestServer(t, { backend, auth: true, export: { workers: 0 } });
        await srv.runtime.store.ingest(people(2, 1));
        const [a, b] = await clients(srv, 2);
        const first = await accepted(`${srv.baseUrl}/$export`, a!);
        await accepted(`${srv.baseUrl}/$export`, a!);
        const third = await accepted(`${srv.baseUrl}/$export`, a!);
        const other = await accepted(`${srv.baseUrl}/$export`, b!);
        const progress = async (url: string, c: Client): Promise<string | null> => {
          const res = await fetch(url, { headers: auth(c) });
          assert.equal(res.status, 202);
          return res.headers.get('x-progress');
        };
        assert.equal(await progress(first, a!), 'queued (0 ahead)');
        assert.equal(await progress(third, a!), 'queued (2 ahead)');
        assert.equal(await progress(other, b!), 'queued (0 ahead)');
      });
    });

    describe('fair sharing', () => {
      test('a small export of a second client completes before the tenth queued export of the first starts', async (t) => {
        const srv = await startTestServer(t, {
          backend,
          auth: true,
          export: { workers: 1, rowsPerUnit: 50 },
        });
        const { store } = srv.runtime;
        await store.ingest([
          ...people(40, 5),
          ...Array.from({ length: 60 }, (_, i) => ({ resourceType: 'Device', id: `d${i}` })),
          ...Array.from({ length: 60 }, (_, i) => ({ resourceType: 'Practitioner', id: `pr${i}` })),
        ]);
        const [big, small] = await clients(srv, 2);
        const bigJobs: string[] = [];
        for (let i = 0; i < 10; i++) bigJobs.push(await accepted(`${srv.baseUrl}/$export`, big!));
        const smallJob = await accepted(`${srv.baseUrl}/Patient/$export?_type=Patient`, small!);
        const { keys } = await outputOf(await manifestOf(smallJob, small!), small!);
        assert.equal(keys.length, 40);
        for (const s of bigJobs)
          assert.equal((await outputOf(await manifestOf(s, big!), big!)).keys.length, 360);
        const smallDone = (await store.jobs.getJob(jobIdOf(smallJob)))!.completedAt!;
        const tenth = (await store.jobs.getJob(jobIdOf(bigJobs[9]!)))!;
        const first = (await store.jobs.getJob(jobIdOf(bigJobs[0]!)))!;
        assert.ok(
          tenth.startedAt !== null && smallDone < tenth.startedAt,
          `${smallDone} < ${tenth.startedAt}`,
        );
        // The first client's jobs ran in the order they were accepted.
        assert.ok(first.startedAt! <= tenth.startedAt!);
      });

      test('a slow filtered export yields to another client, and its output is exactly the snapshot', async (t) => {
        const srv = await startTestServer(t, {
          backend,
          auth: true,
          export: { workers: 1, unitSliceMs: 10 },
        });
        const { store } = srv.runtime;
        const codes = Array.from({ length: 100 }, (_, i) => `c${i}`);
        const observations = Array.from({ length: 20_000 }, (_, i) =>
          makeObservation(`o${i}`, `p${i % 50}`, {
            code: { coding: [{ system: 'http://example.org', code: i % 3 === 0 ? `c${i % 100}` : 'other' }] },
          }),
        );
        await store.ingest([...Array.from({ length: 50 }, (_, i) => makePatient(`p${i}`)), ...observations]);
        const [heavy, light] = await clients(srv, 2);
        // Twenty filters of a hundred OR-ed codes each: legal, and slow to evaluate on every row.
        const filters = Array.from({ length: 20 }, () => `Observation?code=${codes.join(',')}`);
        const body = {
          resourceType: 'Parameters',
          parameter: [
            { name: '_type', valueString: 'Observation' },
            ...filters.map((f) => ({ name: '_typeFilter', valueString: f })),
          ],
        };
        const heavyJob = await accepted(`${srv.baseUrl}/$export`, heavy!, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify(body),
        });
        const lightJob = await accepted(`${srv.baseUrl}/Patient/$export?_type=Patient`, light!);
        // Changes after the kick-off must not show: the resumed scans read the same snapshot.
        for (let i = 0; i < 20_000; i += 37) {
          await store.update(makeObservation(`o${i}`, `p${i % 50}`, { status: 'amended' }));
        }
        const lightKeys = (await outputOf(await manifestOf(lightJob, light!), light!)).keys;
        assert.equal(lightKeys.length, 50);
        const heavyManifest = await manifestOf(heavyJob, heavy!);
        const { keys, files, amended } = await outputOf(heavyManifest, heavy!);
        assert.equal(amended, 0);
        const expected = observations.filter((_, i) => i % 3 === 0).map((o) => `Observation/${String(o.id)}`);
        assert.deepEqual(keys, expected.sort());
        assert.deepEqual(heavyManifest.error, []);
        const lightDone = (await store.jobs.getJob(jobIdOf(lightJob)))!.completedAt!;
        const heavyDone = (await store.jobs.getJob(jobIdOf(heavyJob)))!.completedAt!;
        assert.ok(lightDone < heavyDone, 'the light export finished first');
        // Files written after a checkpoint are named by their segment.
        assert.ok(
          files.some((f) => /^\d+\.s\d+\./.test(f)),
          `the heavy unit checkpointed: ${files.join(' ')}`,
        );
      });
    });
  });
}

/** A `_typeFilter` that selects the Observations of one patient. */
function filterFor(i: number): string {
  return encodeURIComponent(`Observation?subject=Patient/p${i % 25}`);
}
