import { ExportFailedError } from './errors.js';
import type { ManifestSection } from './events.js';

/** One file entry of a manifest. */
export interface ManifestFile {
  url: string;
  type?: string;
  count?: number;
}

/**
 * One manifest document as a status response delivers it (IG §5; one page of a paged manifest, IG §6), with
 * the fields the client uses; unknown fields and `extension` are ignored.
 */
export interface ManifestDocument {
  transactionTime?: string;
  request?: string;
  requiresAccessToken: boolean;
  outputOrganizedBy?: string;
  output: ManifestFile[];
  deleted: ManifestFile[];
  error: ManifestFile[];
  /** The `link` next URL, when more pages follow (IG §6). */
  next?: string;
}

function files(value: unknown, baseUrl: string, section: ManifestSection): ManifestFile[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw new ExportFailedError(`manifest ${section} is not an array`, { url: baseUrl });
  return value.map((raw: unknown) => {
    const e = raw as { url?: unknown; type?: unknown; count?: unknown };
    if (typeof e?.url !== 'string') {
      throw new ExportFailedError(`manifest ${section} entry without a url`, { url: baseUrl });
    }
    const file: ManifestFile = { url: new URL(e.url, baseUrl).href };
    if (typeof e.type === 'string') file.type = e.type;
    if (typeof e.count === 'number' && Number.isInteger(e.count)) file.count = e.count;
    return file;
  });
}

/**
 * Read a manifest body. Relative URLs are resolved against the page URL (a lenience: the IG wants them
 * absolute), `outcome` (v4 draft) is read as `error`, and `requiresAccessToken` defaults to true.
 * @throws ExportFailedError when the body is not a manifest.
 */
export function parseManifest(text: string, pageUrl: string): ManifestDocument {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ExportFailedError(`manifest at ${pageUrl} is not JSON`, { url: pageUrl, cause: err });
  }
  if (typeof body !== 'object' || body === null || !Array.isArray(body.output)) {
    throw new ExportFailedError(`manifest at ${pageUrl} has no output array`, { url: pageUrl });
  }
  const page: ManifestDocument = {
    requiresAccessToken: body.requiresAccessToken !== false,
    output: files(body.output, pageUrl, 'output'),
    deleted: files(body.deleted, pageUrl, 'deleted'),
    error: files(body.error ?? body.outcome, pageUrl, 'error'),
  };
  if (typeof body.transactionTime === 'string') page.transactionTime = body.transactionTime;
  if (typeof body.request === 'string') page.request = body.request;
  if (typeof body.outputOrganizedBy === 'string') page.outputOrganizedBy = body.outputOrganizedBy;
  const links = Array.isArray(body.link) ? (body.link as { relation?: unknown; url?: unknown }[]) : [];
  const next = links.find((l) => l?.relation === 'next' && typeof l.url === 'string');
  if (next) page.next = new URL(next.url as string, pageUrl).href;
  return page;
}

/** Query parameters of S3 and GCS V4 pre-signed URLs: signing material, not part of the file's name. */
const SIGNING_PARAM = /^x-(amz|goog)-/i;

/**
 * The identity of a manifest file across polls. A server with pre-signed URLs signs them afresh on each
 * poll (IG F5), so the same file comes back under another URL; its signing parameters are left out.
 */
export function fileIdentity(url: string): string {
  const u = new URL(url);
  for (const name of [...u.searchParams.keys()]) if (SIGNING_PARAM.test(name)) u.searchParams.delete(name);
  return u.href;
}
