import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { JWK } from 'jose';

/** One answer the server gives instead of the normal one. */
export interface Answer {
  status: number;
  retryAfter?: string;
  progress?: string;
  /** A Server-Timing header, e.g. a held poll's `hold;dur=2000`. */
  serverTiming?: string;
  /** An OperationOutcome body with this issue code. */
  outcome?: string;
}

/** A fault on one file request, used once, in order. */
export type FileFault = Answer | 'truncate' | 'redirect' | 'ignore-range';

/** One file the fake export produces. */
export interface FaultFile {
  name: string;
  kind?: 'output' | 'deleted' | 'error';
  type: string;
  body: string;
  /** Put `count` in the manifest (the true count, or this number). */
  count?: boolean | number;
}

/** What the fault-injecting Bulk Data server does. */
export interface FaultScript {
  files: FaultFile[];
  /** Answers to kick-off before the 202. */
  kickoff?: Answer[];
  /** Answers to status polls before the manifest. */
  status?: Answer[];
  /** Split the manifest into pages of this many files linked by `next`. */
  pageSize?: number;
  /** Each page first answers 202 with a partial body (half of its files). */
  partialFirst?: boolean;
  fileFaults?: Record<string, FileFault[]>;
  /** Every file URL answers 307 to the other origin. */
  redirectAll?: boolean;
  requiresAccessToken?: boolean;
  /** Honour Accept-Encoding: gzip. */
  gzip?: boolean;
  /** Awaited after the first half of a truncated body is sent and before the connection is cut. */
  beforeTruncate?: (name: string) => Promise<void>;
  /** Stream these files slowly: `chunkBytes` every `delayMs`. */
  slow?: { names: string[]; chunkBytes: number; delayMs: number };
  /** File URLs are signed like pre-signed object-storage URLs; see SignedUrls. */
  signed?: SignedUrls;
  auth?: {
    clientId: string;
    publicJwk: JWK;
    expiresIn?: number;
    /** The first token answers 401 (expired) once it was used this many times. */
    expireFirstTokenAfter?: number;
  };
}

/**
 * File URLs carry `?sig=N&exp=T`, as pre-signed object-storage URLs do: every manifest GET signs them
 * anew (N+1) and answers with a new `Expires`. A signature is refused once used up, once past `exp`, or
 * once `expireSignatures()` was called after it was issued.
 */
export interface SignedUrls {
  /** Requests one signature allows per file (default: unlimited). */
  uses?: number;
  /** Seconds from signing to expiry, in `exp` and the `Expires` header (default 3600). */
  expiresInSeconds?: number;
  /** The status of a refused signature (default 403, as S3 answers "Request has expired"). */
  status?: number;
  /** Manifest answers given before the status URL answers 404, as for a job that is gone. */
  goneAfter?: number;
}

/** A request the server saw. */
export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A running fault server and its twin on another origin (another loopback port). */
export interface FaultServer {
  /** The FHIR base URL. */
  baseUrl: string;
  origin: string;
  tokenUrl: string;
  otherOrigin: string;
  seen: Seen[];
  seenElsewhere: Seen[];
  /** The jti of every token request. */
  jtis: string[];
  /** Refuse every signature issued so far (`signed` mode): the URLs a client holds have expired. */
  expireSignatures: () => void;
}

const JOB = '/fhir/status/job-1';

function outcome(code: string): string {
  return JSON.stringify({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics: code }],
  });
}

function answer(res: ServerResponse, a: Answer): void {
  if (a.retryAfter !== undefined) res.setHeader('retry-after', a.retryAfter);
  if (a.progress !== undefined) res.setHeader('x-progress', a.progress);
  if (a.serverTiming !== undefined) res.setHeader('server-timing', a.serverTiming);
  if (a.outcome !== undefined)
    res.writeHead(a.status, { 'content-type': 'application/fhir+json' }).end(outcome(a.outcome));
  else res.writeHead(a.status).end();
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

function lineCount(body: string): number {
  return body.split('\n').filter((l) => l.trim() !== '').length;
}

/** Start the server pair; both close when the test ends. */
export async function startFaultServer(
  t: { after: (fn: () => Promise<void> | void) => void },
  script: FaultScript,
): Promise<FaultServer> {
  const kickoffAnswers = [...(script.kickoff ?? [])];
  const statusAnswers = [...(script.status ?? [])];
  const fileFaults = new Map(Object.entries(script.fileFaults ?? {}).map(([k, v]) => [k, [...v]]));
  const tokens = new Map<string, number>();
  const partialServed = new Set<number>();
  const state: FaultServer = {
    baseUrl: '',
    origin: '',
    tokenUrl: '',
    otherOrigin: '',
    seen: [],
    seenElsewhere: [],
    jtis: [],
    expireSignatures: () => {
      minSig = sig + 1;
    },
  };
  let sig = 0;
  let minSig = 1;
  let manifestsServed = 0;
  const sigUses = new Map<string, number>();
  const requiresToken = script.requiresAccessToken ?? script.auth !== undefined;

  const authorized = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!script.auth) return true;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const uses = token === undefined ? undefined : tokens.get(token);
    const limit = script.auth.expireFirstTokenAfter;
    if (uses === undefined || (token === 'token-1' && limit !== undefined && uses >= limit)) {
      res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
      answer(res, { status: 401, outcome: 'expired' });
      return false;
    }
    tokens.set(token as string, uses + 1);
    return true;
  };

  const manifestPages = (): FaultFile[][] => {
    const size = script.pageSize ?? script.files.length;
    const pages: FaultFile[][] = [];
    for (let i = 0; i < Math.max(script.files.length, 1); i += Math.max(size, 1))
      pages.push(script.files.slice(i, i + size));
    return pages;
  };

  const manifest = (files: FaultFile[], next?: string, query = ''): string => {
    const entry = (f: FaultFile): object => ({
      type: f.type,
      url: `${state.origin}/files/${f.name}${query}`,
      ...(f.count === true
        ? { count: lineCount(f.body) }
        : typeof f.count === 'number'
          ? { count: f.count }
          : {}),
    });
    const of = (kind: string): object[] => files.filter((f) => (f.kind ?? 'output') === kind).map(entry);
    return JSON.stringify({
      transactionTime: '2024-05-01T10:00:00.000Z',
      request: `${state.baseUrl}/$export`,
      requiresAccessToken: requiresToken,
      output: of('output'),
      deleted: of('deleted'),
      error: of('error'),
      extension: { 'https://example.org/unknown': true },
      unknownField: 42,
      ...(next ? { link: [{ relation: 'next', url: next }] } : {}),
    });
  };

  const status = (res: ServerResponse, page: number): void => {
    if (page === 0 && statusAnswers.length > 0) return answer(res, statusAnswers.shift() as Answer);
    const pages = manifestPages();
    const files = pages[page];
    if (!files) return answer(res, { status: 404, outcome: 'not-found' });
    const next = page + 1 < pages.length ? `${state.origin}${JOB}/page/${page + 1}` : undefined;
    const signed = script.signed;
    if (signed?.goneAfter !== undefined && manifestsServed >= signed.goneAfter) {
      return answer(res, { status: 404, outcome: 'not-found' });
    }
    manifestsServed++;
    let query = '';
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signed) {
      const exp = Math.floor(Date.now() / 1000) + (signed.expiresInSeconds ?? 3600);
      query = `?sig=${++sig}&exp=${exp}`;
      headers.expires = new Date(exp * 1000).toUTCString();
    }
    if (script.partialFirst && !partialServed.has(page)) {
      partialServed.add(page);
      res.writeHead(202, { ...headers, 'retry-after': '1', 'x-progress': 'partial' });
      res.end(manifest(files.slice(0, Math.ceil(files.length / 2)), undefined, query));
      return;
    }
    res.writeHead(200, headers).end(manifest(files, next, query));
  };

  /** False, after answering, when a signed URL's signature is refused. */
  const signatureValid = (res: ServerResponse, name: string, search: string): boolean => {
    const signed = script.signed;
    if (!signed) return true;
    const params = new URLSearchParams(search);
    const n = Number(params.get('sig'));
    const exp = Number(params.get('exp'));
    const key = `${name}#${n}`;
    const uses = sigUses.get(key) ?? 0;
    const ok =
      Number.isInteger(n) &&
      n >= minSig &&
      n <= sig &&
      exp * 1000 > Date.now() &&
      (signed.uses === undefined || uses < signed.uses);
    if (ok) {
      sigUses.set(key, uses + 1);
      return true;
    }
    res
      .writeHead(signed.status ?? 403, { 'content-type': 'application/xml' })
      .end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
    return false;
  };

  const token = async (req: IncomingMessage, res: ServerResponse, body: string): Promise<void> => {
    const form = new URLSearchParams(body);
    const json = (code: number, value: object): void => {
      res
        .writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(value));
    };
    if (!script.auth) return json(400, { error: 'invalid_client' });
    try {
      const { payload, protectedHeader } = await jwtVerify(
        form.get('client_assertion') ?? '',
        createLocalJWKSet({ keys: [script.auth.publicJwk] }),
        { audience: state.tokenUrl, issuer: script.auth.clientId, subject: script.auth.clientId, typ: 'JWT' },
      );
      if (!protectedHeader.kid || !payload.jti || state.jtis.includes(payload.jti))
        throw new Error('bad jti or kid');
      if (form.get('grant_type') !== 'client_credentials' || !form.get('scope')) throw new Error('bad form');
      state.jtis.push(payload.jti);
    } catch (err) {
      return json(401, { error: 'invalid_client', error_description: (err as Error).message });
    }
    const value = `token-${state.jtis.length}`;
    tokens.set(value, 0);
    json(200, {
      access_token: value,
      token_type: 'bearer',
      expires_in: script.auth.expiresIn ?? 300,
      scope: form.get('scope'),
    });
  };

  const main = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = req.url ?? '/';
      state.seen.push({ method: req.method ?? 'GET', url, headers: req.headers, body });
      if (url === '/fhir/.well-known/smart-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({ token_endpoint: state.tokenUrl, grant_types_supported: ['client_credentials'] }),
        );
      }
      if (url === '/auth/token' && req.method === 'POST') return token(req, res, body);
      const file = /^\/files\/([^/?]+)(?:\?(.*))?$/.exec(url);
      if (file) {
        if (requiresToken && !authorized(req, res)) return;
        if (!signatureValid(res, file[1] as string, file[2] ?? '')) return;
        return serveFile(req, res, file[1] as string, 'main');
      }
      if (!authorized(req, res)) return;
      if (/\/\$export(\?|$)/.test(url)) {
        if (kickoffAnswers.length > 0) return answer(res, kickoffAnswers.shift() as Answer);
        res.writeHead(202, {
          'content-location': `${state.origin}${JOB}`,
          'content-type': 'application/fhir+json',
        });
        return res.end(outcome('informational'));
      }
      if (url === JOB && req.method === 'DELETE') return answer(res, { status: 202 });
      if (url === JOB) return status(res, 0);
      const page = new RegExp(`^${JOB}/page/(\\d+)$`).exec(url);
      if (page) return status(res, Number(page[1]));
      answer(res, { status: 404, outcome: 'not-found' });
    })().catch((err: unknown) => res.destroy(err as Error));
  });

  const serveFile = (
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    where: 'main' | 'other',
  ): void => {
    const f = script.files.find((x) => x.name === name);
    if (!f) return answer(res, { status: 404, outcome: 'not-found' });
    const fault = where === 'main' ? fileFaults.get(name)?.shift() : undefined;
    if (where === 'main' && (script.redirectAll || fault === 'redirect')) {
      res.writeHead(307, { location: `${state.otherOrigin}/storage/${name}` }).end();
      return;
    }
    if (typeof fault === 'object') return answer(res, fault);
    let bytes = Buffer.from(f.body);
    const range = fault === 'ignore-range' ? undefined : /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const headers: Record<string, string> = {
      'content-type': 'application/fhir+ndjson',
      'accept-ranges': 'bytes',
    };
    let code = 200;
    if (range) {
      const start = Number(range[1]);
      if (start >= bytes.length) {
        res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
        return;
      }
      headers['content-range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
      bytes = bytes.subarray(start);
      code = 206;
    } else if (script.gzip && /gzip/.test(req.headers['accept-encoding'] ?? '')) {
      bytes = gzipSync(bytes);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(bytes.length);
    res.writeHead(code, headers);
    if (fault === 'truncate') {
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      const cut = script.beforeTruncate?.(name) ?? new Promise((r) => setTimeout(r, 20));
      void cut.then(() => res.socket?.destroy());
      return;
    }
    if (script.slow?.names.includes(name)) return void slowWrite(res, bytes, script.slow);
    res.end(bytes);
  };

  const other = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      state.seenElsewhere.push({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body,
      });
      const file = /^\/storage\/([^/?]+)$/.exec(req.url ?? '');
      if (file) return serveFile(req, res, file[1] as string, 'other');
      answer(res, { status: 404, outcome: 'not-found' });
    })().catch((err: unknown) => res.destroy(err as Error));
  });

  state.origin = await listen(main);
  state.otherOrigin = await listen(other);
  state.tokenUrl = `${state.origin}/auth/token`;
  state.baseUrl = `${state.origin}/fhir`;
  t.after(async () => {
    for (const s of [main, other]) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
  return state;
}

async function slowWrite(
  res: ServerResponse,
  bytes: Buffer,
  slow: { chunkBytes: number; delayMs: number },
): Promise<void> {
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  for (let i = 0; i < bytes.length && !closed; i += slow.chunkBytes) {
    res.write(bytes.subarray(i, i + slow.chunkBytes));
    await new Promise((r) => setTimeout(r, slow.delayMs));
  }
  res.end();
}
