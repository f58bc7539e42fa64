import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makePatient } from '../helpers/builders.js';
import { kickoff, readLines, runExport, startTestServer } from '../helpers/server.js';
import { backends } from '../helpers/stores.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Page {
  output: { url: string; type: string }[];
  error: unknown[];
  link?: { relation: string; url: string }[];
}

/** Poll a manifest URL until it answers 200; keep every body it returned on the way. */
async function pollPage(url: string, bodies: string[]): Promise<Page> {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(url);
    const text = await res.text();
    if (text !== '') bodies.push(text);
    if (res.status === 200) return JSON.parse(text) as Page;
    assert.equal(res.status, 202, text);
    if (text !== '') assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    await sleep(300);
  }
  throw new Error(`${url} never became final`);
}

for (const backend of backends()) {
  describe(`on ${backend.name}`, { skip: backend.skip }, () => {
    test('partial manifests are immutable pages chained by link next that cover the export once', async (t) => {
      const srv = await startTestServer(t, { backend, export: { rowsPerUnit: 40, manifestPageUnits: 2 } });
      await srv.runtime.store.ingest(
        Array.from({ length: 300 }, (_, i) => makePatient(`p${String(i).padStart(3, '0')}`)),
      );
      const status = await kickoff(`${srv.baseUrl}/$export?_type=Patient&allowPartialManifests=true`);
      const firstBodies: string[] = [];
      let page = await pollPage(status, firstBodies);
      assert.equal(new Set(firstBodies).size, 1, 'the first page never changed once returned');
      const ids: string[] = [];
      let pages = 1;
      for (;;) {
        ids.push(...(await readLines(page.output)).map((r) => String(r.id)));
        const next = page.link?.find((l) => l.relation === 'next');
        if (!next) break;
        assert.match(next.url, /^http:\/\/127\.0\.0\.1:\d+\//);
        const bodies: string[] = [];
        page = await pollPage(next.url, bodies);
        assert.equal(new Set(bodies).size, 1);
        pages += 1;
      }
      assert.ok(pages >= 3, `only ${pages} pages`);
      assert.equal(ids.length, 300);
      assert.equal(new Set(ids).size, 300);
    });

    test('without allowPartialManifests the manifest is whole and has no link', async (t) => {
      const srv = await startTestServer(t, { backend, export: { rowsPerUnit: 40, manifestPageUnits: 2 } });
      await srv.runtime.store.ingest(Array.from({ length: 300 }, (_, i) => makePatient(`p${i}`)));
      const m = (await runExport(`${srv.baseUrl}/$export?_type=Patient`)) as unknown as Page;
      assert.equal(m.link, undefined);
      assert.equal((await readLines(m.output)).length, 300);
      const res = await fetch(
        `${m.output[0]!.url.replace(/\$export-files\/([^/]+)\/.*/, '$export-status/$1/page/1')}`,
      );
      assert.equal(res.status, 404);
    });
  });
}
