import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BulkClientError, DEFAULT_WAITS } from '../../src/client/index.js';
import type { ClientEvent } from '../../src/client/index.js';
import { HttpSession } from '../../src/client/http.js';
import type { TokenProvider } from '../../src/client/http.js';
import { FAST_WAITS, fakeClock } from './helpers.js';

/** What a loopback server saw of one request. */
interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, seen: Seen[]) => void;

/** A real HTTP server on loopback, closed when the test ends; `seen` lists the requests it answered. */
async function serve(t: { after: (fn: () => Promise<void>) => void }, handler: Handler) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
      handler(req, res, seen);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { base, seen };
}

/** Tokens `t1`, `t2`... in turn; `invalidated` lists the tokens the session gave back. */
function tokens(): TokenProvider & { invalidated: string[] } {
  let n = 0;
  let current: string | undefined;
  const invalidated: string[] = [];
  return {
    invalidated,
    token: async () => (current ??= `t${++n}`),
    invalidate: (token) => {
      invalidated.push(token);
      if (current === token) current = undefined;
    },
  };
}

function session(t: { after: (fn: () => Promise<void>) => void }, auth?: TokenProvider) {
  const clock = fakeClock(Date.UTC(2026, 0, 1));
  const events: ClientEvent[] = [];
  const http = new HttpSession({
    waits: { ...DEFAULT_WAITS, ...FAST_WAITS, maxWaitMs: 10_000 },
    clock,
    ...(auth ? { auth } : {}),
    onEvent: (e) => events.push(e),
  });
  t.after(() => http.close());
  return { http, clock, events };
}

const outcome = (code: string, diagnostics: string) =>
  JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] });

describe('HttpSession', () => {
  test('sends the token along a same-origin redirect, and never again once a redirect leaves the origin', async (t) => {
    const other = await serve(t, (req, res) => {
      if (req.url === '/away') res.writeHead(302, { location: `${home.base}/back` }).end();
      else res.end('x');
    });
    const home = await serve(t, (req, res) => {
      if (req.url === '/start') res.writeHead(307, { location: '/moved' }).end();
      else if (req.url === '/moved') res.writeHead(302, { location: `${other.base}/away` }).end();
      else res.end('done');
    });
    const { http } = session(t, tokens());
    const res = await http.send({ url: `${home.base}/start`, authorize: true, retry: 'none' });
    assert.equal(await res.body.text(), 'done');
    assert.equal(res.url, `${home.base}/back`);
    assert.deepEqual(
      home.seen.map((s) => [s.url, s.authorization]),
      [
        ['/start', 'Bearer t1'],
        ['/moved', 'Bearer t1'],
        // Back on the first origin, but after a foreign hop: no token.
        ['/back', undefined],
      ],
    );
    assert.deepEqual(
      other.seen.map((s) => s.authorization),
      [undefined],
    );
  });

  test('turns a POST into a GET without body on 303, and keeps it on 307', async (t) => {
    const server = await serve(t, (req, res) => {
      if (req.url === '/see-other') res.writeHead(303, { location: '/result' }).end();
      else if (req.url === '/temporary') res.writeHead(307, { location: '/result' }).end();
      else res.end('ok');
    });
    const { http } = session(t);
    for (const path of ['/see-other', '/temporary']) {
      const res = await http.send({
        url: `${server.base}${path}`,
        method: 'POST',
        body: '{"a":1}',
        authorize: false,
        retry: 'none',
      });
      await res.body.dump();
    }
    assert.deepEqual(
      server.seen.map((s) => [s.method, s.url, s.body]),
      [
        ['POST', '/see-other', '{"a":1}'],
        ['GET', '/result', ''],
        ['POST', '/temporary', '{"a":1}'],
        ['POST', '/result', '{"a":1}'],
      ],
    );
  });

  test('gets a new token once after a 401, without counting a retry, and fails on a second 401', async (t) => {
    const server = await serve(t, (req, res) => {
      const ok = req.headers.authorization === 'Bearer t2' && req.url === '/once';
      res.writeHead(ok ? 200 : 401).end(outcome('login', 'token expired'));
    });
    const auth = tokens();
    const { http, events } = session(t, auth);
    const res = await http.send({ url: `${server.base}/once`, authorize: true, retry: 'all' });
    assert.equal(res.status, 200);
    await res.body.dump();
    assert.deepEqual(auth.invalidated, ['t1']);
    assert.deepEqual(events, []);
    await assert.rejects(http.send({ url: `${server.base}/never`, authorize: true, retry: 'all' }), {
      code: 'FHIRHOSE_ERR_CLIENT_HTTP',
      status: 401,
    });
    assert.deepEqual(auth.invalidated, ['t1', 't2']);
  });

  test("waits the server's Retry-After on 429, capped, before asking again", async (t) => {
    const server = await serve(t, (_req, res, seen) => {
      if (seen.length === 1) res.writeHead(429, { 'retry-after': '3' }).end();
      else if (seen.length === 2) res.writeHead(503, { 'retry-after': '3600' }).end();
      else res.end('ok');
    });
    const { http, clock, events } = session(t);
    const res = await http.send({ url: `${server.base}/busy`, authorize: false, retry: 'status' });
    assert.equal(await res.body.text(), 'ok');
    assert.deepEqual(clock.sleeps, [3_000, 10_000]);
    assert.deepEqual(
      events.map((e) => (e.kind === 'retry' ? [e.attempt, e.status, e.ms, e.requestedMs] : e.kind)),
      [
        [1, 429, 3_000, 3_000],
        [2, 503, 10_000, 3_600_000],
      ],
    );
  });

  test('retries a 500 without an outcome or with a transient one, but not one whose outcome is final', async (t) => {
    const server = await serve(t, (req, res, seen) => {
      const tries = seen.filter((s) => s.url === req.url).length;
      if (req.url === '/transient' && tries === 1) res.writeHead(500).end(outcome('transient', 'busy'));
      else if (req.url === '/bare' && tries === 1) res.writeHead(500).end('oops');
      else if (req.url === '/final') res.writeHead(500).end(outcome('processing', 'the export broke'));
      else res.end('ok');
    });
    const { http } = session(t);
    for (const path of ['/transient', '/bare']) {
      const res = await http.send({ url: `${server.base}${path}`, authorize: false, retry: 'status' });
      assert.equal(res.status, 200, path);
      await res.body.dump();
    }
    await assert.rejects(
      http.send({ url: `${server.base}/final`, authorize: false, retry: 'status' }),
      (err: unknown) =>
        err instanceof BulkClientError &&
        err.status === 500 &&
        err.outcome?.issue[0]?.code === 'processing' &&
        err.message === `GET ${server.base}/final answered 500: the export broke`,
    );
    assert.equal(server.seen.filter((s) => s.url === '/final').length, 1);
  });

  test('under retry none, throws the first error status with its outcome and Retry-After', async (t) => {
    const server = await serve(t, (_req, res) => {
      res.writeHead(503, { 'retry-after': '7' }).end(outcome('transient', 'starting'));
    });
    const { http, clock } = session(t);
    await assert.rejects(
      http.send({ url: `${server.base}/x`, authorize: false, retry: 'none' }),
      (err: unknown) =>
        err instanceof BulkClientError &&
        err.status === 503 &&
        err.retryAfter === 7_000 &&
        err.url === `${server.base}/x`,
    );
    assert.equal(server.seen.length, 1);
    assert.deepEqual(clock.sleeps, []);
  });

  test('returns statuses the caller accepts as they are', async (t) => {
    const server = await serve(t, (_req, res) => res.writeHead(404).end(outcome('not-found', 'gone')));
    const { http } = session(t);
    const res = await http.send({
      url: `${server.base}/x`,
      authorize: false,
      retry: 'all',
      accept: (s) => s === 404,
    });
    assert.equal(res.status, 404);
    assert.match(await res.body.text(), /gone/);
  });

  test('retries a refused connection only under retry all, then wraps it', async (t) => {
    // A port that was listening and is closed: connecting is refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/x`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { http, clock } = session(t);
    await assert.rejects(http.send({ url, authorize: false, retry: 'status' }), (err: unknown) => {
      return err instanceof BulkClientError && err.status === undefined && err.cause !== undefined;
    });
    assert.equal(clock.sleeps.length, 0);
    await assert.rejects(http.send({ url, authorize: false, retry: 'all' }), {
      code: 'FHIRHOSE_ERR_CLIENT_HTTP',
    });
    assert.equal(clock.sleeps.length, FAST_WAITS.retries);
  });

  test('does not retry or wrap a request whose signal aborted', async (t) => {
    const server = await serve(t, (_req, res) => res.writeHead(503).end());
    const { http, clock } = session(t);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(
      http.send({ url: `${server.base}/x`, authorize: false, retry: 'all', signal: controller.signal }),
      (err: unknown) => !(err instanceof BulkClientError),
    );
    assert.deepEqual(clock.sleeps, []);
  });
});
