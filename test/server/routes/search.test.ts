import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeGroup, makeObservation, makePatient } from '../../helpers/builders.js';
import { BASE, assertOutcome, entryIds, fhirJson, serverOn } from '../setup.js';
import type { BundleJson, TestServer } from '../setup.js';
import { backends } from '../../helpers/stores.js';

async function search(
  server: TestServer,
  url: string,
  headers: Record<string, string> = {},
): Promise<BundleJson> {
  return fhirJson<BundleJson>(await server.app.inject({ url, headers }), 200);
}

const sorted = (ids: string[]): string[] => [...ids].sort();

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    const startServer = serverOn(backend);
    describe('search bundle', () => {
      test('returns a searchset with self link and match entries with absolute fullUrls', async (t) => {
        const server = await startServer(t);
        await server.store.ingest([makePatient('p1'), makePatient('p2')]);
        const bundle = await search(server, '/Patient?_id=p1');
        assert.equal(bundle.resourceType, 'Bundle');
        assert.equal(bundle.type, 'searchset');
        assert.equal('total' in bundle, false);
        assert.deepEqual(bundle.link, [{ relation: 'self', url: `${BASE}/Patient?_id=p1` }]);
        assert.equal(bundle.entry?.[0]?.fullUrl, `${BASE}/Patient/p1`);
        assert.deepEqual(bundle.entry?.[0]?.search, { mode: 'match' });
        assert.equal(bundle.entry?.[0]?.resource.meta?.versionId, '1');
      });

      test('omits entry when nothing matches', async (t) => {
        const server = await startServer(t);
        const bundle = await search(server, '/Patient?_total=accurate');
        assert.equal(bundle.total, 0);
        assert.equal('entry' in bundle, false);
      });

      test('matches a comma list of _id values', async (t) => {
        const server = await startServer(t);
        await server.store.ingest([makePatient('p1'), makePatient('p2'), makePatient('p3')]);
        assert.deepEqual(sorted(entryIds(await search(server, '/Patient?_id=p1,p3'))), ['p1', 'p3']);
      });

      test('counts the total only for _total=accurate or estimate, and rejects an unknown _total', async (t) => {
        const server = await startServer(t);
        await server.store.ingest([makePatient('p1'), makePatient('p2')]);
        for (const url of ['/Patient', '/Patient?_total=none', '/Patient?_total=accurate&_total=none']) {
          assert.equal('total' in (await search(server, url)), false, url);
        }
        for (const value of ['accurate', 'estimate']) {
          const bundle = await search(server, `/Patient?_total=${value}&_count=1`);
          assert.equal(bundle.total, 2, value);
          assert.equal(bundle.entry?.length, 1);
        }
        assertOutcome(await server.app.inject({ url: '/Patient?_total=maybe' }), 400, 'invalid');
      });

      test('answers _summary=count with the total and no entries, whatever _count says', async (t) => {
        const server = await startServer(t);
        await server.store.ingest([makePatient('p1'), makePatient('p2'), makePatient('p3')]);
        const bundle = await search(server, '/Patient?_summary=count&_count=2&_total=none');
        assert.equal(bundle.total, 3);
        assert.equal('entry' in bundle, false);
        assert.deepEqual(bundle.link, [
          { relation: 'self', url: `${BASE}/Patient?_summary=count&_count=2&_total=none` },
        ]);
        assert.equal((await search(server, '/Patient?_id=p1,p9&_summary=count')).total, 1);
        assertOutcome(await server.app.inject({ url: '/Patient?_summary=true' }), 400, 'not-supported');
      });
    });

    describe('search paging', () => {
      test('follows next links to the end without duplicates or gaps', async (t) => {
        const server = await startServer(t);
        const ids = Array.from({ length: 23 }, (_, i) => `p${i}`);
        await server.store.ingest(ids.map((id) => makePatient(id)));
        const seen: string[] = [];
        let url: string | undefined = '/Patient?_count=5';
        let pages = 0;
        while (url !== undefined) {
          const bundle = await search(server, url);
          // No page counts the matches unless asked to.
          assert.equal('total' in bundle, false);
          seen.push(...entryIds(bundle));
          pages += 1;
          const next = bundle.link.find((l) => l.relation === 'next')?.url;
          if (next !== undefined)
            assert.match(next, /^https:\/\/fhir\.example\.test\/r4\/Patient\?_count=5&_cursor=/);
          url = next?.slice(BASE.length);
        }
        assert.equal(pages, 5);
        assert.deepEqual(sorted(seen), sorted(ids));
      });

      test('gives the total on every page that asks for it, and the next links keep asking', async (t) => {
        const server = await startServer(t);
        await server.store.ingest(Array.from({ length: 12 }, (_, i) => makePatient(`p${i}`)));
        let url: string | undefined = '/Patient?_count=5&_total=accurate';
        const entries: number[] = [];
        while (url !== undefined) {
          const bundle = await search(server, url);
          assert.equal(bundle.total, 12);
          entries.push(bundle.entry?.length ?? 0);
          url = bundle.link.find((l) => l.relation === 'next')?.url.slice(BASE.length);
          if (url !== undefined) assert.match(url, /^\/Patient\?_count=5&_total=accurate&_cursor=/);
        }
        assert.deepEqual(entries, [5, 5, 2]);
      });

      test('keeps the search parameters in next links', async (t) => {
        const server = await startServer(t);
        await server.store.ingest([makePatient('a'), makePatient('b'), makePatient('c')]);
        const first = await search(server, '/Patient?_id=a,b,c&_count=2');
        const next = first.link.find((l) => l.relation === 'next')?.url ?? '';
        assert.ok(next.startsWith(`${BASE}/Patient?_id=a,b,c&_count=2&_cursor=`), next);
        const second = await search(server, next.slice(BASE.length));
        assert.equal(second.link[0]?.url, next);
        assert.equal(second.entry?.length, 1);
      });

      test('uses 50 results per page by default', async (t) => {
        const server = await startServer(t);
        await server.store.ingest(Array.from({ length: 55 }, (_, i) => makePatient(`p${i}`)));
        const bundle = await search(server, '/Patient?_total=accurate');
        assert.equal(bundle.entry?.length, 50);
        assert.equal(bundle.total, 55);
      });

      test('returns only the total for _count=0', async (t) => {
        const server = await startServer(t);
        await server.store.ingest([makePatient('p1'), makePatient('p2')]);
        const bundle = await search(server, '/Patient?_count=0');
        assert.equal(bundle.total, 2);
        assert.equal('entry' in bundle, false);
      });

      test('rejects a negative or non-numeric _count', async (t) => {
        const server = await startServer(t);
        for (const v of ['-1', 'ten', '1.5']) {
          assertOutcome(await server.app.inject({ url: `/Patient?_count=${v}` }), 400, 'invalid');
        }
      });
    });

    describe('_lastUpdated', () => {
      async function threeDays(t: Parameters<typeof startServer>[0]): Promise<TestServer> {
        const server = await startServer(t);
        server.clock.now = Date.parse('2024-01-01T00:00:00Z');
        await server.store.ingest([makePatient('a')]);
        server.clock.now = Date.parse('2024-01-02T00:00:00Z');
        await server.store.ingest([makePatient('b')]);
        server.clock.now = Date.parse('2024-01-03T12:00:00Z');
        await server.store.ingest([makePatient('c')]);
        return server;
      }

      test('applies each prefix to the day the value denotes', async (t) => {
        const server = await threeDays(t);
        const cases: [string, string[]][] = [
          ['2024-01-02', ['b']],
          ['eq2024-01-02', ['b']],
          ['ne2024-01-02', ['a', 'c']],
          ['gt2024-01-02', ['c']],
          ['ge2024-01-02', ['b', 'c']],
          ['lt2024-01-02', ['a']],
          ['le2024-01-02', ['a', 'b']],
          ['sa2024-01-02', ['c']],
          ['eb2024-01-02', ['a']],
          ['ge2024-01', ['a', 'b', 'c']],
        ];
        for (const [value, expected] of cases) {
          const bundle = await search(server, `/Patient?_lastUpdated=${value}`);
          assert.deepEqual(sorted(entryIds(bundle)), expected, value);
        }
      });

      test('ANDs repeated _lastUpdated parameters', async (t) => {
        const server = await threeDays(t);
        const bundle = await search(server, '/Patient?_lastUpdated=ge2024-01-02&_lastUpdated=lt2024-01-03');
        assert.deepEqual(entryIds(bundle), ['b']);
      });

      test('reads a timezone whose + arrived unencoded', async (t) => {
        const server = await threeDays(t);
        const bundle = await search(server, '/Patient?_lastUpdated=gt2024-01-02T01:00:00+01:00');
        assert.deepEqual(entryIds(bundle), ['c']);
      });

      test('rejects ap, unknown prefixes, bad dates and comma lists', async (t) => {
        const server = await threeDays(t);
        assertOutcome(await server.app.inject({ url: '/Patient?_lastUpdated=ap2024' }), 400, 'not-supported');
        assertOutcome(await server.app.inject({ url: '/Patient?_lastUpdated=zz2024' }), 400, 'invalid');
        assertOutcome(await server.app.inject({ url: '/Patient?_lastUpdated=2024-13-01' }), 400, 'invalid');
        const comma = await server.app.inject({ url: '/Patient?_lastUpdated=2024,2025' });
        assertOutcome(comma, 400, 'not-supported');
      });
    });

    describe('patient and subject search', () => {
      async function observations(t: Parameters<typeof startServer>[0]): Promise<TestServer> {
        const server = await startServer(t);
        await server.store.ingest([
          makePatient('p1'),
          makePatient('p2'),
          makeObservation('o1', 'p1'),
          makeObservation('o2', 'p2'),
          makeObservation('o3', 'p1'),
        ]);
        return server;
      }

      test('matches Patient/x, a bare id, and an absolute URL on this server', async (t) => {
        const server = await observations(t);
        for (const value of ['p1', 'Patient/p1', `${BASE}/Patient/p1`, 'Patient/p1/_history/1']) {
          const bundle = await search(server, `/Observation?patient=${encodeURIComponent(value)}`);
          assert.deepEqual(sorted(entryIds(bundle)), ['o1', 'o3'], value);
        }
      });

      test('matches subject and the :Patient modifier', async (t) => {
        const server = await observations(t);
        assert.deepEqual(sorted(entryIds(await search(server, '/Observation?subject=Patient/p1'))), [
          'o1',
          'o3',
        ]);
        assert.deepEqual(sorted(entryIds(await search(server, '/Observation?subject:Patient=p2'))), ['o2']);
      });

      test('ORs a comma list of patients', async (t) => {
        const server = await observations(t);
        const bundle = await search(server, '/Observation?patient=p1,Patient/p2');
        assert.deepEqual(sorted(entryIds(bundle)), ['o1', 'o2', 'o3']);
      });

      test('matches nothing for a reference on another server', async (t) => {
        const server = await observations(t);
        const url = `/Observation?patient=${encodeURIComponent('https://other.example/fhir/Patient/p1')}`;
        const bundle = await search(server, `${url}&_total=accurate`);
        assert.equal(bundle.total, 0);
        assert.deepEqual(entryIds(await search(server, url)), []);
      });

      test('rejects non-Patient targets and types without the parameter', async (t) => {
        const server = await observations(t);
        assertOutcome(
          await server.app.inject({ url: '/Observation?subject=Group/g1' }),
          400,
          'not-supported',
        );
        assertOutcome(await server.app.inject({ url: '/Observation?patient=not%20an%20id' }), 400, 'invalid');
        const outcome = assertOutcome(
          await server.app.inject({ url: '/Patient?patient=p1' }),
          400,
          'invalid',
        );
        assert.deepEqual(outcome.issue[0]?.expression, ['patient']);
      });
    });

    describe('Group search', () => {
      async function groups(t: Parameters<typeof startServer>[0]): Promise<TestServer> {
        const server = await startServer(t);
        await server.store.ingest([
          makeGroup('g1', [], { name: 'Cohort Alpha', identifier: [{ system: 'http://sys', value: 'A1' }] }),
          makeGroup('g2', [], { name: 'Cohort Beta', identifier: [{ system: 'http://sys', value: 'B2' }] }),
          makeGroup('g3', [], { name: 'alphabet' }),
        ]);
        return server;
      }

      test('matches name by case-insensitive prefix', async (t) => {
        const server = await groups(t);
        assert.deepEqual(sorted(entryIds(await search(server, '/Group?name=cohort'))), ['g1', 'g2']);
        assert.deepEqual(entryIds(await search(server, '/Group?name=ALPHA')), ['g3']);
        assert.deepEqual(sorted(entryIds(await search(server, '/Group?name=cohort%20b,alpha'))), [
          'g2',
          'g3',
        ]);
      });

      test('matches name:exact by equality', async (t) => {
        const server = await groups(t);
        assert.deepEqual(entryIds(await search(server, '/Group?name:exact=Cohort%20Alpha')), ['g1']);
        assert.deepEqual(entryIds(await search(server, '/Group?name:exact=cohort%20alpha')), []);
      });

      test('matches identifier as system|value or value', async (t) => {
        const server = await groups(t);
        assert.deepEqual(entryIds(await search(server, '/Group?identifier=http://sys%7CA1')), ['g1']);
        assert.deepEqual(entryIds(await search(server, '/Group?identifier=B2')), ['g2']);
        assert.deepEqual(sorted(entryIds(await search(server, '/Group?identifier=A1,B2'))), ['g1', 'g2']);
        assert.deepEqual(entryIds(await search(server, '/Group?identifier=http://other%7CA1')), []);
      });

      test('rejects name on other types and unknown modifiers', async (t) => {
        const server = await groups(t);
        assertOutcome(await server.app.inject({ url: '/Patient?name=x' }), 400, 'invalid');
        assertOutcome(await server.app.inject({ url: '/Group?name:contains=x' }), 400, 'invalid');
      });
    });

    describe('unknown search parameters', () => {
      test('are refused with 400 naming the parameter', async (t) => {
        const server = await startServer(t);
        const outcome = assertOutcome(
          await server.app.inject({ url: '/Patient?birthdate=2000' }),
          400,
          'invalid',
        );
        assert.deepEqual(outcome.issue[0]?.expression, ['birthdate']);
        assert.match(outcome.issue[0]?.diagnostics ?? '', /birthdate/);
      });

      test('are refused as not supported when FHIR defines them', async (t) => {
        const server = await startServer(t);
        assertOutcome(await server.app.inject({ url: '/Patient?_sort=_id' }), 400, 'not-supported');
      });

      test('are ignored and left out of the self link under Prefer: handling=lenient', async (t) => {
        const server = await startServer(t);
        await server.store.ingest([makePatient('p1')]);
        const bundle = await search(server, '/Patient?birthdate=2000&_id=p1&_sort=x', {
          prefer: 'handling=lenient',
        });
        assert.deepEqual(entryIds(bundle), ['p1']);
        assert.equal(bundle.link[0]?.url, `${BASE}/Patient?_id=p1`);
      });
    });

    describe('POST _search', () => {
      test('reads parameters from the form body and the query string', async (t) => {
        const server = await startServer(t);
        await server.store.ingest([makePatient('p1'), makePatient('p2'), makePatient('p3')]);
        const res = await server.app.inject({
          method: 'POST',
          url: '/Patient/_search?_count=1',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: '_id=p1%2Cp3',
        });
        const bundle = fhirJson<BundleJson>(res, 200);
        assert.equal(bundle.entry?.length, 1);
        assert.equal(bundle.link[0]?.url, `${BASE}/Patient?_count=1&_id=p1,p3`);
        assert.ok(bundle.link.some((l) => l.relation === 'next'));
      });

      test('accepts an empty body', async (t) => {
        const server = await startServer(t);
        const res = await server.app.inject({ method: 'POST', url: '/Patient/_search' });
        assert.deepEqual(entryIds(fhirJson<BundleJson>(res, 200)), []);
      });

      test('answers a JSON body with 415', async (t) => {
        const server = await startServer(t);
        const res = await server.app.inject({
          method: 'POST',
          url: '/Patient/_search',
          headers: { 'content-type': 'application/json' },
          payload: '{}',
        });
        assertOutcome(res, 415, 'not-supported');
      });

      test('answers an unknown type with 404', async (t) => {
        const server = await startServer(t);
        assertOutcome(await server.app.inject({ method: 'POST', url: '/Nope/_search' }), 404, 'not-found');
        assertOutcome(await server.app.inject({ url: '/Nope' }), 404, 'not-found');
      });
    });
  });
}
