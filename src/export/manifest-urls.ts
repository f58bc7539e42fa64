import type { FileStorage } from '../storage/index.js';
import type { UnitFile } from './unit-spec.js';

/** What {@link manifestFileUrls} needs of the export service's dependencies. */
export interface ManifestUrlDeps {
  storage: FileStorage;
  /** Absolute URL of a file, built from the public base URL. */
  fileUrl: (jobId: string, name: string) => string;
  /** Auth is on: file URLs on this server need the access token. */
  requiresAccessToken: boolean;
  /** Pre-signed storage URLs valid this long instead of server URLs; unset for server URLs. */
  presignedUrlSeconds?: number;
}

/** How a manifest names these files: server URLs, or pre-signed storage URLs signed at `now`. */
export async function manifestFileUrls(
  deps: ManifestUrlDeps,
  jobId: string,
  files: UnitFile[],
  now: number,
): Promise<{ requiresAccessToken: boolean; fileUrl: (jobId: string, name: string) => string }> {
  const seconds = deps.presignedUrlSeconds;
  const sign = deps.storage.signedUrl?.bind(deps.storage);
  if (seconds === undefined || !sign) {
    return { requiresAccessToken: deps.requiresAccessToken, fileUrl: deps.fileUrl };
  }
  const names = new Set<string>();
  for (const f of files) {
    names.add(f.name);
    if (f.continuesIn) names.add(f.continuesIn);
  }
  const options = { expiresInSeconds: seconds, now };
  const signed = await Promise.all([...names].map(async (n) => [n, await sign(jobId, n, options)] as const));
  const urls = new Map(signed);
  // A pre-signed URL is a capability URL: the client must not send its token there (Bulk IG F2, F3).
  return {
    requiresAccessToken: false,
    fileUrl: (id, name) => urls.get(name) ?? deps.fileUrl(id, name),
  };
}
