import { request } from 'undici';
import type { Jwks } from './jwks.js';
import { readFetchedJwks } from './jwks.js';

/** Options of {@link JwksCache}; every field has a default. */
export interface JwksCacheOptions {
  /** Wall clock in epoch ms. */
  now?: () => number;
  /** Cache lifetime when the response has no Cache-Control max-age; default 5 minutes. */
  defaultMaxAgeMs?: number;
  /** Upper bound on any cache lifetime, whatever the server says; default 1 day. */
  maxAgeCapMs?: number;
  /** An unknown `kid` refetches a cached set at most this often; default 10 s. */
  minRefetchMs?: number;
  /** Request timeout; default 5 s. */
  timeoutMs?: number;
  /** Largest JWKS document accepted; default 256 KiB. */
  maxBytes?: number;
}

/** The JWKS at a URL could not be fetched or read. */
export class JwksFetchError extends Error {
  static code = 'FHIRHOSE_ERR_JWKS_FETCH';
  readonly code = JwksFetchError.code;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JwksFetchError';
  }
}

interface Entry {
  jwks: Jwks;
  fetchedAt: number;
  expiresAt: number;
}

/**
 * JWK Sets fetched from URLs (client JWKS URLs, an external issuer's keys), cached no longer than their
 * `Cache-Control` allows (SMART 2.2: the server "SHALL NOT cache a JWKS for longer than allowed by the
 * cache-control header"), and refetched early, at a bounded rate, when a client signs with a new `kid`.
 */
export class JwksCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Entry>>();
  private readonly now: () => number;
  private readonly opts: Required<Omit<JwksCacheOptions, 'now'>>;

  constructor(options: JwksCacheOptions = {}) {
    this.now = options.now ?? Date.now;
    this.opts = {
      defaultMaxAgeMs: options.defaultMaxAgeMs ?? 300_000,
      maxAgeCapMs: options.maxAgeCapMs ?? 86_400_000,
      minRefetchMs: options.minRefetchMs ?? 10_000,
      timeoutMs: options.timeoutMs ?? 5_000,
      maxBytes: options.maxBytes ?? 256 * 1024,
    };
  }

  /**
   * The key set at `url`: the cached copy while it is fresh, else a new fetch.
   * @throws JwksFetchError when the URL does not answer 200 with a JWK Set
   */
  async get(url: string): Promise<Jwks> {
    const entry = this.entries.get(url);
    if (entry && this.now() < entry.expiresAt) return entry.jwks;
    return (await this.fetchOnce(url)).jwks;
  }

  /**
   * Fetch again because a `kid` was not found, unless the set was fetched less than `minRefetchMs` ago.
   * Resolves to the new set, or undefined when the rate limit held the fetch back.
   * @throws JwksFetchError when the fetch fails
   */
  async refresh(url: string): Promise<Jwks | undefined> {
    const entry = this.entries.get(url);
    if (entry && this.now() - entry.fetchedAt < this.opts.minRefetchMs) return undefined;
    return (await this.fetchOnce(url)).jwks;
  }

  private fetchOnce(url: string): Promise<Entry> {
    let pending = this.inflight.get(url);
    if (!pending) {
      pending = this.fetch(url).finally(() => this.inflight.delete(url));
      this.inflight.set(url, pending);
    }
    return pending;
  }

  private async fetch(url: string): Promise<Entry> {
    const fetchedAt = this.now();
    let text: string;
    let cacheControl: string | undefined;
    try {
      const res = await request(url, {
        headers: { accept: 'application/json' },
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new JwksFetchError(`JWKS URL answered HTTP ${res.statusCode}`);
      }
      const header = res.headers['cache-control'];
      cacheControl = Array.isArray(header) ? header.join(',') : header;
      text = await readLimited(res.body, this.opts.maxBytes);
    } catch (err) {
      if (err instanceof JwksFetchError) throw err;
      throw new JwksFetchError('JWKS URL could not be fetched', { cause: err });
    }
    let jwks: Jwks;
    try {
      jwks = readFetchedJwks(JSON.parse(text));
    } catch (err) {
      throw new JwksFetchError('JWKS URL did not return a JWK Set', { cause: err });
    }
    const entry = { jwks, fetchedAt, expiresAt: fetchedAt + this.maxAge(cacheControl) };
    this.entries.set(url, entry);
    return entry;
  }

  /** How long a response may be reused (RFC 9111 §5.2.2): none for no-store/no-cache, else max-age. */
  private maxAge(header: string | undefined): number {
    if (header === undefined) return this.opts.defaultMaxAgeMs;
    const directives = header
      .toLowerCase()
      .split(',')
      .map((d) => d.trim());
    if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return 0;
    const maxAge = directives.find((d) => d.startsWith('max-age='));
    if (maxAge === undefined) return this.opts.defaultMaxAgeMs;
    const seconds = Number(maxAge.slice('max-age='.length).replace(/^"|"$/g, ''));
    if (!Number.isFinite(seconds) || seconds < 0) return 0;
    return Math.min(seconds * 1000, this.opts.maxAgeCapMs);
  }
}

async function readLimited(body: AsyncIterable<Buffer>, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) throw new JwksFetchError(`JWKS is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
