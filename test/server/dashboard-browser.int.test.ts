// The dashboard in a real headless Chromium (Debian's package), driven by playwright-core.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { makeObservation, makePatient } from '../helpers/builders.js';
import { kickoff, startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const CHROMIUM = process.env.FHIRHOSE_TEST_CHROMIUM ?? '/usr/bin/chromium';
// Set to a .png path to keep a screenshot of the dashboard (the README's is made this way).
const SCREENSHOT = process.env.FHIRHOSE_DASHBOARD_SCREENSHOT;
const PASSWORD = 'correct horse battery';
const WAIT_MS = 60_000;
const skip = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM}: install Debian's chromium package (.ci/run does) or set FHIRHOSE_TEST_CHROMIUM`;

let context: BrowserContext;
let profile: string;

async function seed(server: TestServer): Promise<void> {
  const patients = Array.from({ length: 40 }, (_, i) =>
    makePatient(`p${i}`, { name: [{ family: `Fam${i}` }] }),
  );
  const observations = patients.map((p, i) => makeObservation(`o${i}`, p.id as string));
  await server.runtime.store.ingest([...patients, ...observations]);
}

function jobCard(page: Page, jobId: string, state?: string) {
  const inState = state === undefined ? '' : `[data-state="${state}"]`;
  return page.locator(`article.job[data-job-id="${jobId}"]${inState}`);
}

const jobIdOf = (statusUrl: string): string => statusUrl.split('/').pop() as string;

describe('dashboard in a headless browser', { skip }, () => {
  before(async () => {
    profile = mkdtempSync(join(tmpdir(), 'fhirhose-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
    });
    context.setDefaultTimeout(WAIT_MS);
  });
  after(async () => {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  test('shows an export reaching 100% and cancels another from its button', async (t) => {
    // No worker threads at first: both jobs wait in the queue until the test starts one.
    const server = await startTestServer(t, { export: { workers: 0 } });
    await seed(server);
    const page = await context.newPage();
    t.after(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));

    await page.goto(`${server.baseUrl}/dashboard`);
    await page.getByText('No export jobs.').waitFor();
    assert.equal(await page.locator('#health').getByText('SQLite').count(), 1);

    const toCancel = jobIdOf(await kickoff(`${server.baseUrl}/$export?_type=Patient`));
    const toFinish = jobIdOf(await kickoff(`${server.baseUrl}/$export?_type=Patient,Observation`));
    await jobCard(page, toCancel, 'queued').waitFor();
    await jobCard(page, toFinish, 'queued').waitFor();

    await jobCard(page, toCancel).getByRole('button', { name: 'Cancel' }).click();
    await jobCard(page, toCancel, 'cancelled').waitFor();
    assert.equal(await jobCard(page, toCancel).getByRole('button', { name: 'Cancel' }).count(), 0);
    assert.equal((await server.runtime.store.jobs.getJob(toCancel))?.status, 'cancelled');

    server.runtime.pool.start(1);
    const finished = jobCard(page, toFinish);
    await jobCard(page, toFinish, 'completed').waitFor();
    assert.equal(await finished.locator('.percent').textContent(), '100%');
    assert.match((await finished.locator('.figures').textContent()) ?? '', /^80 \/ 80 resources/);
    await finished.locator('summary').click();
    await finished.getByRole('cell', { name: 'Observation' }).first().waitFor();
    // Job metadata only: no resource content is on the page.
    assert.equal(await page.getByText('Fam1').count(), 0);
    assert.deepEqual(errors, []);
    if (SCREENSHOT) {
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }
  });

  test('shows nothing without the password on a server others can reach, and the jobs with it', async (t) => {
    const server = await startTestServer(t, {
      host: '0.0.0.0',
      env: { FHIRHOSE_DASHBOARD_PASSWORD: PASSWORD },
    });
    await seed(server);
    const jobId = jobIdOf(await kickoff(`${server.baseUrl}/$export?_type=Patient`));
    const page = await context.newPage();
    t.after(() => page.close());

    await page.goto(`${server.baseUrl}/dashboard`);
    await page.locator('#login').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#board').isVisible(), false);
    assert.equal(await jobCard(page, jobId).count(), 0);

    await page.locator('#credential').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#login-error').getByText('not right').waitFor();
    assert.equal(await jobCard(page, jobId).count(), 0);

    await page.locator('#credential').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await jobCard(page, jobId).waitFor();
    assert.equal(await page.locator('#login').isVisible(), false);
  });

  test('finds no dashboard on a server others can reach with no operator credential configured', async (t) => {
    const server = await startTestServer(t, { host: '0.0.0.0' });
    await seed(server);
    await kickoff(`${server.baseUrl}/$export?_type=Patient`);
    const page = await context.newPage();
    t.after(() => page.close());
    const res = await page.goto(`${server.baseUrl}/dashboard`);
    assert.equal(res?.status(), 404);
    assert.equal(await page.locator('article.job').count(), 0);
    assert.equal(await page.locator('#login').count(), 0);
  });
});
