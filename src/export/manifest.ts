import { formatInstant } from '../fhir/index.js';
import type { JobRecord, UnitRecord } from '../store/index.js';
import type { ReadAccess } from './authorize.js';
import { mayReadFile } from './file-access.js';
import type { ListedFile } from './file-access.js';
import { decodeExportRequest, decodeUnitResult, decodeUnitSpec } from './job-codec.js';
import type { UnitFile } from './unit-spec.js';

/** One manifest file entry (STU2/STU3 shape). */
export interface ManifestEntry {
  /** Absent in organized output, which mixes types in one file. */
  type?: string;
  url: string;
  count?: number;
  continuesInFile?: string;
}

/** The complete-status body (https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status). */
export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  outputOrganizedBy?: string;
  output: ManifestEntry[];
  deleted?: ManifestEntry[];
  error: ManifestEntry[];
  /** Partial manifests (allowPartialManifests): the next page. */
  link?: { relation: 'next'; url: string }[];
}

/** Which units a manifest page covers and whether more pages follow. */
export interface ManifestPage {
  index: number;
  /** Unit count per page. */
  size: number;
  /** URL of the next page, when one exists. */
  nextUrl?: string;
}

const finished = (u: UnitRecord): boolean => u.status === 'done' || u.status === 'failed';

/** The units of one manifest page (allowPartialManifests), in seq order. */
export function pageUnits(units: UnitRecord[], page: { index: number; size: number }): UnitRecord[] {
  return units.slice(page.index * page.size, (page.index + 1) * page.size);
}

/** True when every unit of the page has finished, so its manifest can no longer change. */
export function pageReady(units: UnitRecord[], page: { index: number; size: number }): boolean {
  return pageUnits(units, page).every(finished);
}

/** True when a page after this one exists. */
export function hasNextPage(units: UnitRecord[], page: { index: number; size: number }): boolean {
  return units.length > (page.index + 1) * page.size;
}

/** The files of the finished units, each with its unit's spec, in unit order. */
export function listedFiles(units: UnitRecord[]): ListedFile[] {
  const files: ListedFile[] = [];
  for (const u of units) {
    if (!finished(u) || !u.result) continue;
    const written = decodeUnitResult(u.result).files;
    if (written.length === 0) continue;
    const spec = decodeUnitSpec(u.spec);
    for (const file of written) files.push({ spec, file });
  }
  return files;
}

/**
 * The files of the finished units, in unit order: those a token with `access` may read, or all of
 * them when `access` is undefined (auth off).
 */
export function finishedFiles(units: UnitRecord[], access?: ReadAccess): UnitFile[] {
  return listedFiles(units)
    .filter((l) => mayReadFile(access, l))
    .map((l) => l.file);
}

/** Build the manifest of a job from its units. `fileUrl` makes the absolute download URL of a file. */
export function buildManifest(
  job: JobRecord,
  units: UnitRecord[],
  options: {
    requiresAccessToken: boolean;
    fileUrl: (jobId: string, name: string) => string;
    /** Build only this page (partial manifests), with a `link` to the next one. */
    page?: ManifestPage;
    /** List only the files a token with this grant may read (undefined: auth off, every file). */
    access?: ReadAccess;
  },
): Manifest {
  const request = decodeExportRequest(job.request);
  const entry = (f: UnitFile): ManifestEntry => {
    const url = options.fileUrl(job.id, f.name);
    const e: ManifestEntry = f.type ? { type: f.type, url, count: f.count } : { url, count: f.count };
    if (f.continuesIn) e.continuesInFile = options.fileUrl(job.id, f.continuesIn);
    return e;
  };
  const files = finishedFiles(options.page ? pageUnits(units, options.page) : units, options.access);
  const manifest: Manifest = {
    transactionTime: formatInstant(job.transactionTime),
    request: request.requestUrl,
    requiresAccessToken: options.requiresAccessToken,
    ...(request.organizeOutputBy ? { outputOrganizedBy: request.organizeOutputBy } : {}),
    output: files.filter((f) => f.kind === 'output').map(entry),
    error: files.filter((f) => f.kind === 'error').map(entry),
  };
  if (request.since !== undefined) manifest.deleted = files.filter((f) => f.kind === 'deleted').map(entry);
  if (options.page?.nextUrl) manifest.link = [{ relation: 'next', url: options.page.nextUrl }];
  return manifest;
}

/** Progress of a job as a whole percentage of the rows it expects to read. */
export function jobPercent(units: UnitRecord[]): number {
  let total = 0;
  let done = 0;
  for (const u of units) {
    total += Math.max(u.estimate, 1);
    done += finished(u) ? Math.max(u.estimate, 1) : Math.min(u.progress, u.estimate);
  }
  return total === 0 ? 100 : Math.floor((done * 100) / total);
}
