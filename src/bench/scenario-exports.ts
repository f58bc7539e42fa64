import type { BenchContext } from './context.js';
import { eachRun, withServer } from './context.js';
import { readPatientIds } from './dataset.js';
import { exportTimeoutMs, releaseRun, runExport } from './export-run.js';
import type { ExportRun } from './export-run.js';
import { BARS, cpuRateFigure, figure } from './figures.js';
import { postGroup } from './http.js';
import type { KickoffRequest } from './http.js';

/** Shares of the patients in the benchmark Groups: the issue-14 bars are for 10% and 1%. */
const GROUP_SHARES = [
  { key: 'group', share: 0.1 },
  { key: 'group1', share: 0.01 },
] as const;
/** The `_typeFilter` benchmark: laboratory Observations (examines every Observation, parses the ones with the code). */
export const TYPE_FILTER = 'Observation?category=laboratory';
/** The `_elements` benchmark: three root elements on every type (projects every resource). */
export const ELEMENTS = 'status,code,subject';

/** A benchmark Group's members: every (1/share)-th patient, in file order (default every tenth). */
export function groupMembers(patientIds: readonly string[], share = 0.1): string[] {
  const step = Math.round(1 / share);
  return patientIds.filter((_, i) => i % step === 0);
}

/** A kick-off to measure the same way as the system export: rate, seconds and peak server RSS. */
interface ExportCase {
  key: string;
  label: string;
  request: KickoffRequest;
  /** Resources the server must examine, when a filter outputs fewer than it reads. */
  scanned?: { count: number; what: string };
  /** About how many resources it outputs (sets the time limit); default the whole store. */
  expected?: number;
}

async function measureCase(ctx: BenchContext, c: ExportCase): Promise<ExportRun[]> {
  const timeoutMs = exportTimeoutMs(c.expected ?? ctx.resources);
  const runs = await eachRun(
    ctx,
    c.label,
    async (server) => {
      const run = await runExport(server, c.request, { timeoutMs });
      await releaseRun(run);
      return run;
    },
    ctx.profileArgs ? { nodeArgs: ctx.profileArgs } : {},
  );
  ctx.figures.push(
    figure(
      `export.${c.key}.rate`,
      `${c.label}, kick-off to manifest`,
      'resources/s',
      runs.map((r) => r.resources / r.seconds),
    ),
    figure(
      `export.${c.key}.seconds`,
      `${c.label}, kick-off to manifest`,
      's',
      runs.map((r) => r.seconds),
    ),
    cpuRateFigure(`export.${c.key}`, c.label, runs),
    figure(
      `export.${c.key}.rss`,
      `${c.label}: peak server RSS`,
      'MiB',
      runs.map((r) => r.peakRssMb),
      {
        bar: BARS.serverRssMb,
      },
    ),
  );
  if (c.scanned) {
    const { count, what } = c.scanned;
    ctx.figures.push(
      figure(
        `export.${c.key}.scanRate`,
        `${c.label}: ${what} examined`,
        `${what}/s`,
        runs.map((r) => count / r.seconds),
      ),
    );
  }
  ctx.details[c.key] = runs.map((r) => ({
    resources: r.resources,
    files: r.files,
    bytes: r.bytes,
    seconds: r.seconds,
  }));
  return runs;
}

/** Patient-level export (`Patient/$export`): every patient's compartment plus supporting resources. */
export async function benchPatientExport(ctx: BenchContext): Promise<void> {
  await measureCase(ctx, { key: 'patient', label: 'Patient export', request: { path: '/Patient/$export' } });
}

/** Group exports of Groups holding 10% and 1% of the patients, created through `POST /Group`. */
export async function benchGroupExport(ctx: BenchContext): Promise<void> {
  const patientIds = await readPatientIds(ctx.dataDir);
  for (const { key, share } of GROUP_SHARES) {
    const members = groupMembers(patientIds, share);
    const groupId = await withServer(ctx, (server) => postGroup(server.baseUrl, members));
    ctx.details[`${key}Members`] = members.length;
    const label = `Group export (${members.length.toLocaleString('en-US')} patients, ${share * 100}%)`;
    const request = { path: `/Group/${groupId}/$export` };
    await measureCase(ctx, { key, label, request, expected: ctx.resources * share });
  }
}

/** `_typeFilter` export: laboratory Observations only. */
export async function benchTypeFilterExport(ctx: BenchContext): Promise<void> {
  const path = `/$export?_type=Observation&_typeFilter=${encodeURIComponent(TYPE_FILTER)}`;
  const scanned = { count: ctx.typeCounts.Observation ?? 0, what: 'Observations' };
  await measureCase(ctx, {
    key: 'typeFilter',
    label: `_typeFilter=${TYPE_FILTER}`,
    request: { path },
    scanned,
    expected: scanned.count,
  });
}

/** `_elements` export of every type. */
export async function benchElementsExport(ctx: BenchContext): Promise<void> {
  const path = `/$export?_elements=${encodeURIComponent(ELEMENTS)}`;
  await measureCase(ctx, { key: 'elements', label: `_elements=${ELEMENTS}`, request: { path } });
}

/** Peak server RSS of an unfiltered export of a smaller store, beside the full one. */
export async function benchMemoryScaling(
  ctx: BenchContext,
  smallDb: string,
  smallResources: number,
): Promise<void> {
  const count = smallResources.toLocaleString('en-US');
  const timeoutMs = exportTimeoutMs(smallResources);
  const runs = await eachRun(
    ctx,
    `system export of ${count}`,
    async (server) => {
      const run = await runExport(server, { path: '/$export' }, { timeoutMs });
      await releaseRun(run);
      return run;
    },
    { db: smallDb },
  );
  ctx.figures.push(
    figure(
      'scaling.small.rss',
      `peak server RSS, export of ${count}`,
      'MiB',
      runs.map((r) => r.peakRssMb),
      {
        bar: BARS.serverRssMb,
      },
    ),
    figure(
      'scaling.small.rate',
      `system export of ${count}, kick-off to manifest`,
      'resources/s',
      runs.map((r) => r.resources / r.seconds),
    ),
  );
}
