import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { BulkClientError, isTransientOutcome, parseOutcome } from './errors.js';
import type { OperationOutcomeBody } from './errors.js';
import type { EventListener } from './events.js';
import { backoff, parseRetryAfter } from './waits.js';
import type { Clock, WaitOptions } from './waits.js';

/** Supplies bearer tokens (SMART Backend Services, or a fixed token). */
export interface TokenProvider {
  /** A valid access token; a new one is fetched when the cached one is near expiry. */
  token(signal?: AbortSignal): Promise<string>;
  /** Forget `token`: the server answered 401 to it. */
  invalidate(token: string): void;
}

/** Which failures `send` retries. `status` retries only answers (429, 503...), never a lost request. */
export type RetryPolicy = 'all' | 'status' | 'none';

/** One request. */
export interface SendOptions {
  url: string;
  method?: 'GET' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  /** Send the access token; it is never sent after a redirect to another origin (IG §14.3). */
  authorize: boolean;
  retry: RetryPolicy;
  /** Statuses returned to the caller as they are; other non-2xx statuses throw BulkClientError. */
  accept?: (status: number) => boolean;
  signal?: AbortSignal;
}

/** A response whose body the caller must consume or dump. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable & { text(): Promise<string>; json(): Promise<unknown>; dump(): Promise<void> };
  /** The URL that answered, after redirects. */
  url: string;
}

/** Dependencies of a session. */
export interface HttpSessionOptions {
  waits: WaitOptions;
  clock: Clock;
  auth?: TokenProvider;
  dispatcher?: Dispatcher;
  onEvent?: EventListener;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const MAX_REDIRECTS = 5;
const MAX_ERROR_BODY = 64 * 1024;

/** A header's first value. */
export function header(res: { headers: HttpResponse['headers'] }, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** True for an error raised because the signal aborted. */
export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (err instanceof Error && err.name === 'AbortError');
}

async function readErrorBody(res: HttpResponse): Promise<string> {
  let text = '';
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (text.length < MAX_ERROR_BODY) text += chunk.toString('utf8');
  }
  return text.slice(0, MAX_ERROR_BODY);
}

/**
 * HTTP for the client: undici requests with bearer tokens, manual redirects (so the token never crosses
 * origins), a token refresh after a 401, and retries with backoff on 429, 5xx and network errors.
 */
export class HttpSession {
  readonly waits: WaitOptions;
  readonly clock: Clock;
  private readonly auth: TokenProvider | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: boolean;
  private readonly onEvent: EventListener;

  constructor(options: HttpSessionOptions) {
    this.waits = options.waits;
    this.clock = options.clock;
    this.auth = options.auth;
    this.ownDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000 });
    this.onEvent = options.onEvent ?? (() => undefined);
  }

  /** The same connections and waits, with another token provider. */
  withAuth(auth: TokenProvider | undefined): HttpSession {
    return new HttpSession({
      waits: this.waits,
      clock: this.clock,
      auth,
      dispatcher: this.dispatcher,
      onEvent: this.onEvent,
    });
  }

  /** Close the connection pool, when this session created it. */
  async close(): Promise<void> {
    if (this.ownDispatcher) await this.dispatcher.close();
  }

  /** Send a request, following redirects and retrying per `options.retry`. */
  async send(options: SendOptions): Promise<HttpResponse> {
    const accept = options.accept ?? ((s: number) => s >= 200 && s < 300);
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      const token = options.authorize && this.auth ? await this.auth.token(options.signal) : undefined;
      try {
        res = await this.follow(options, token);
      } catch (err) {
        if (isAbort(err, options.signal) || options.retry !== 'all' || attempt >= this.waits.retries) {
          throw wrapNetworkError(err, options.url, options.signal);
        }
        await this.pause(options, attempt, undefined, String((err as Error).message ?? err));
        continue;
      }
      if (accept(res.status)) return res;
      const text = await readErrorBody(res);
      const outcome = parseOutcome(text);
      const retryAfter = parseRetryAfter(res.headers['retry-after'], this.clock.now());
      if (res.status === 401 && token !== undefined && this.auth && !refreshed) {
        // The token expired or was revoked early: get a new one once, without counting a retry.
        this.auth.invalidate(token);
        refreshed = true;
        attempt--;
        continue;
      }
      if (options.retry !== 'none' && attempt < this.waits.retries && retryable(res.status, outcome)) {
        await this.pause(options, attempt, retryAfter, undefined, res.status);
        continue;
      }
      throw new BulkClientError(describe(options, res.status, outcome), {
        status: res.status,
        url: res.url,
        ...(outcome ? { outcome } : {}),
        ...(retryAfter !== undefined ? { retryAfter } : {}),
      });
    }
  }

  private async follow(options: SendOptions, token: string | undefined): Promise<HttpResponse> {
    let url = options.url;
    let method = options.method ?? 'GET';
    let body = options.body;
    const origin = new URL(url).origin;
    let sameOrigin = true;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { ...options.headers };
      if (token !== undefined && sameOrigin) headers.authorization = `Bearer ${token}`;
      const res = await request(url, {
        method,
        headers,
        body,
        signal: options.signal,
        dispatcher: this.dispatcher,
      });
      const location = header(res, 'location');
      if (!REDIRECTS.has(res.statusCode) || location === undefined || hop >= MAX_REDIRECTS) {
        return { status: res.statusCode, headers: res.headers, body: res.body, url };
      }
      await res.body.dump();
      url = new URL(location, url).href;
      // Once a redirect leaves the origin the token is never sent again, even if a later hop comes back.
      sameOrigin = sameOrigin && new URL(url).origin === origin;
      if (res.statusCode === 303) {
        method = 'GET';
        body = undefined;
      }
    }
  }

  private async pause(
    options: SendOptions,
    attempt: number,
    retryAfter: number | undefined,
    error?: string,
    status?: number,
  ): Promise<void> {
    const computed =
      retryAfter ?? backoff(attempt, this.waits.retryBaseMs, this.waits.maxWaitMs, this.waits.jitter);
    const ms = Math.min(computed, this.waits.maxWaitMs);
    this.onEvent({
      kind: 'retry',
      url: options.url,
      attempt: attempt + 1,
      ms,
      requestedMs: computed,
      ...(status !== undefined ? { status } : {}),
      ...(error !== undefined ? { error } : {}),
    });
    await this.clock.sleep(ms, options.signal);
  }
}

function retryable(status: number, outcome: OperationOutcomeBody | undefined): boolean {
  return (
    RETRY_STATUSES.has(status) || (status >= 500 && (outcome === undefined || isTransientOutcome(outcome)))
  );
}

function describe(options: SendOptions, status: number, outcome: OperationOutcomeBody | undefined): string {
  const issue = outcome?.issue[0];
  const detail = issue?.diagnostics ?? issue?.details?.text;
  return `${options.method ?? 'GET'} ${options.url} answered ${status}${detail ? `: ${detail}` : ''}`;
}

function wrapNetworkError(err: unknown, url: string, signal?: AbortSignal): unknown {
  if (isAbort(err, signal) || err instanceof BulkClientError) return err;
  return new BulkClientError(`request to ${url} failed: ${(err as Error).message}`, { url, cause: err });
}
