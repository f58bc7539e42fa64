import { fileIdentity } from './manifest.js';
import { ExportFailedError, UrlExpiredError } from './errors.js';
import type { EventListener, FileRecord, FileResult, ManifestSection } from './events.js';
import type { HttpSession } from './http.js';
import type { ManifestDocument, ManifestFile } from './manifest.js';
import { pollManifest } from './poller.js';
import type { PolledPage } from './poller.js';
import type { ExportState } from './state-file.js';

/**
 * Manifest refreshes one run makes at most: enough for a slow run to outlive a few URL lifetimes, few
 * enough that a server whose fresh URLs never work cannot keep the client looping.
 */
export const DEFAULT_MANIFEST_REFRESHES = 3;

/** A manifest entry with the section it is listed in. */
export interface PageEntry {
  kind: ManifestSection;
  file: ManifestFile;
}

/** The entries of a manifest page, in manifest order. */
export function entriesOf(page: ManifestDocument): PageEntry[] {
  return (['output', 'deleted', 'error'] as const).flatMap((kind) =>
    page[kind].map((file) => ({ kind, file })),
  );
}

/** The manifest page a file came from; state files written before pages were recorded had only the first. */
export function pageOf(state: ExportState, file: FileRecord): string {
  return file.page ?? state.statusUrl;
}

/** Keep a page's `Expires` in the state, or forget it when the new answer has none. */
export function recordExpires(state: ExportState, pageUrl: string, expires: number | undefined): void {
  if (expires === undefined) {
    if (state.manifestExpires) delete state.manifestExpires[pageUrl];
    return;
  }
  state.manifestExpires = { ...state.manifestExpires, [pageUrl]: new Date(expires).toISOString() };
}

function withoutQuery(url: string): string {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  return u.href;
}

/** `items` by key, in order. */
function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Indexes of `items` by key, in order. */
function indexBy<T>(items: T[], key: (item: T) => string): Map<string, number[]> {
  return groupBy(
    items.map((_, i) => i),
    (i) => key(items[i] as T),
  );
}

/** Pair the files of one kind and type: same URL, then same URL without its query, then same position. */
function matchGroup(
  olds: FileRecord[],
  news: ManifestFile[],
  byPosition: boolean,
  pairs: Map<FileRecord, ManifestFile>,
): void {
  const taken = new Set<number>();
  const take = (old: FileRecord, j: number | undefined): void => {
    if (j === undefined || taken.has(j)) return;
    taken.add(j);
    pairs.set(old, news[j] as ManifestFile);
  };
  const byUrl = indexBy(news, (f) => f.url);
  for (const old of olds)
    take(
      old,
      byUrl.get(old.url)?.find((j) => !taken.has(j)),
    );
  // Pre-signed URLs differ only in their query: first without the known signing parameters, then
  // without any query. A key shared by two files would make the pairing a guess, so it must be unique.
  for (const key of [fileIdentity, withoutQuery]) {
    const oldKeys = indexBy(olds, (f) => key(f.url));
    const newKeys = indexBy(news, (f) => key(f.url));
    for (const [k, [i, ...more]] of oldKeys) {
      const fresh = newKeys.get(k);
      const old = olds[i as number] as FileRecord;
      if (more.length === 0 && fresh?.length === 1 && !pairs.has(old)) take(old, fresh[0]);
    }
  }
  if (!byPosition || olds.length !== news.length) return;
  olds.forEach((old, i) => {
    if (!pairs.has(old)) take(old, i);
  });
}

/**
 * Pair the files a manifest page listed before with the entries it lists now, within the same section
 * and `type`: the same URL, else the same URL once the query string is removed (when that is unique on
 * both sides), else, with `byPosition` and as many files on both sides, the same position.
 */
export function matchFiles(
  olds: FileRecord[],
  entries: PageEntry[],
  byPosition: boolean,
): Map<FileRecord, ManifestFile> {
  const group = (kind: ManifestSection, type: string | undefined): string => `${kind}\n${type ?? ''}`;
  const newGroups = groupBy(entries, (e) => group(e.kind, e.file.type));
  const oldGroups = groupBy(olds, (f) => group(f.kind, f.type));
  const pairs = new Map<FileRecord, ManifestFile>();
  for (const [key, files] of oldGroups) {
    matchGroup(
      files,
      (newGroups.get(key) ?? []).map((e) => e.file),
      byPosition,
      pairs,
    );
  }
  return pairs;
}

/** The status of an answer that says a file URL expired; undefined for other outcomes. */
function expiredStatus(result: FileResult, tokenSent: boolean): number | undefined {
  const status = result.error?.status;
  if (result.status === 'done' || status === undefined) return undefined;
  // A 401 to a request that carried a token is about the token, which the session already renewed.
  if (status === 403 || status === 404 || status === 410 || (status === 401 && !tokenSent)) return status;
  return undefined;
}

function gaveUp(result: FileResult, message: string): FileResult {
  const status = result.error?.status;
  const err = new UrlExpiredError(message, { url: result.url, ...(status !== undefined ? { status } : {}) });
  return {
    ...result,
    error: { code: err.code, message: err.message, ...(status !== undefined ? { status } : {}) },
  };
}

/** What a refresher needs from the run. */
export interface RefresherOptions {
  /** Refreshes this run makes at most. */
  max: number;
  /** The URLs the run knows, so that the poller does not take a refreshed URL for a new file. */
  known: Set<string>;
  /** Write the state to disk: a resumed run must start from the refreshed URLs. */
  persist: () => Promise<void>;
  signal?: AbortSignal;
  onEvent?: EventListener;
}

type Refreshed = Set<FileRecord> | undefined;

/**
 * Re-fetches manifest pages when their file URLs expire (IG §8.1, F5: after `Expires` the client MAY
 * fetch the manifest again, and the server MAY answer with fresh URLs and a new `Expires`). Downloads
 * failing at once share one refresh of their page.
 */
export class ManifestRefresher {
  private used = 0;
  private readonly inFlight = new Map<string, Promise<Refreshed>>();

  constructor(
    private readonly http: HttpSession,
    private readonly state: ExportState,
    private readonly options: RefresherOptions,
  ) {}

  /**
   * Run `fetch` for a file, refreshing its page first when the page's `Expires` has passed, and again
   * (then retrying the file once) each time its URL is refused as expired, while the run's bound allows.
   * @throws ExportFailedError when the re-fetch finds the job gone or failed.
   */
  async download(file: FileRecord, fetch: (file: FileRecord) => Promise<FileResult>): Promise<FileResult> {
    const page = pageOf(this.state, file);
    // Past the bound the download is still tried: Expires is advice, the URL may still work.
    if (this.isExpired(page)) await this.refresh(page, 'expires');
    for (let n = 0; ; n++) {
      const url = file.url;
      const tokenSent = this.state.requiresAccessToken;
      const result = await fetch(file);
      const status = expiredStatus(result, tokenSent);
      if (status === undefined) return result;
      // Another download refreshed the page meanwhile: its URLs are fresh, no need for another refresh.
      if (file.url !== url && n <= this.options.max) continue;
      const matched = await this.refresh(page, 'refused', status);
      if (matched === undefined) {
        return gaveUp(
          result,
          `${file.path}: ${file.url} answered ${status} after ${this.used} manifest refreshes, the most one run makes`,
        );
      }
      if (!matched.has(file)) {
        return gaveUp(result, `${file.path}: the re-fetched manifest at ${page} no longer lists this file`);
      }
    }
  }

  private isExpired(page: string): boolean {
    const at = this.state.manifestExpires?.[page];
    return at !== undefined && this.http.clock.now() >= Date.parse(at);
  }

  /** Refresh a page, or join its refresh in progress; undefined once the run's bound is reached. */
  private refresh(page: string, reason: 'expires' | 'refused', status?: number): Promise<Refreshed> {
    const running = this.inFlight.get(page);
    if (running) return running;
    if (this.used >= this.options.max) return Promise.resolve(undefined);
    this.used++;
    const refreshed = this.refetch(page, reason, status).finally(() => this.inFlight.delete(page));
    this.inFlight.set(page, refreshed);
    return refreshed;
  }

  private async refetch(
    page: string,
    reason: 'expires' | 'refused',
    status?: number,
  ): Promise<Set<FileRecord>> {
    const polled = await this.fetchPage(page);
    const files = this.state.files.filter((f) => pageOf(this.state, f) === page);
    const pairs = matchFiles(files, entriesOf(polled.manifest), true);
    for (const [record, entry] of pairs) {
      record.url = entry.url;
      this.options.known.add(entry.url);
    }
    this.state.requiresAccessToken = polled.manifest.requiresAccessToken;
    recordExpires(this.state, page, polled.expires);
    await this.options.persist();
    this.options.onEvent?.({
      kind: 'manifest-refresh',
      url: page,
      reason,
      ...(status !== undefined ? { status } : {}),
      refresh: this.used,
      max: this.options.max,
      files: pairs.size,
    });
    return new Set(pairs.keys());
  }

  /** The page as the server lists it now; a job still running answers 202, maybe with a partial page. */
  private async fetchPage(page: string): Promise<PolledPage> {
    const { signal, onEvent } = this.options;
    try {
      for await (const polled of pollManifest(this.http, page, {
        ...(signal ? { signal } : {}),
        ...(onEvent ? { onEvent } : {}),
      })) {
        return polled;
      }
    } catch (err) {
      if (err instanceof ExportFailedError && (err.status === 404 || err.status === 410)) {
        throw new ExportFailedError(
          `the export job is gone: ${page} answered ${err.status} when the client fetched the manifest ` +
            'again for fresh file URLs; start a new export',
          { status: err.status, url: page, cause: err },
        );
      }
      throw err;
    }
    throw new ExportFailedError(`${page} gave no manifest when fetched again`, { url: page });
  }
}
