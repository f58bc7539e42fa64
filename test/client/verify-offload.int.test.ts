import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { downloadFile } from '../../src/client/download.js';
import { DEFAULT_WAITS, HttpSession, systemClock } from '../../src/client/index.js';
import type { FileRecord, FileResult } from '../../src/client/index.js';
import { tempDir } from '../helpers/temp.js';
import { FAST_WAITS } from './helpers.js';

type T = { after: (fn: () => Promise<void> | void) => void };

/** A resource line of about `size` bytes. */
function line(type: string, i: number, size = 200): string {
  return JSON.stringify({
    resourceType: type,
    id: `${type}-${i}`,
    subject: { reference: `Patient/p-${i % 97}`, display: 'Zoë 😀 \u00e9' },
    note: 'n'.repeat(Math.max(0, size - 120)),
  });
}

function lines(type: string, n: number, size?: number, eol = '\n'): string {
  let out = '';
  for (let i = 0; i < n; i++) out += line(type, i, size) + eol;
  return out;
}

const BIG = lines('Observation', 60_000, 220); // about 13 MB: far more than the worker's 2 MiB queue

interface Case {
  name: string;
  type: string;
  body: Buffer;
  count?: number;
}

const CASES: Case[] = [
  { name: 'valid', type: 'Observation', body: Buffer.from(lines('Observation', 300)), count: 300 },
  { name: 'count-differs', type: 'Observation', body: Buffer.from(lines('Observation', 300)), count: 301 },
  {
    name: 'bad-json',
    type: 'Observation',
    body: Buffer.from(
      lines('Observation', 99) + '{"resourceType":"Observation",}\n' + lines('Observation', 5),
    ),
    count: 105,
  },
  {
    name: 'wrong-type',
    type: 'Observation',
    body: Buffer.from(lines('Observation', 4) + lines('Patient', 1) + lines('Observation', 5)),
  },
  {
    name: 'bad-utf8',
    type: 'Patient',
    body: Buffer.concat([
      Buffer.from(lines('Patient', 2) + '{"resourceType":"Patient","n":"a'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}\n'),
    ]),
  },
  {
    name: 'crlf-no-final-newline',
    type: 'Patient',
    body: Buffer.from(lines('Patient', 50, 200, '\r\n') + line('Patient', 50)),
    count: 51,
  },
  { name: 'blank-lines', type: 'Patient', body: Buffer.from(`\n${lines('Patient', 3)}\n\n`), count: 3 },
  { name: 'empty', type: 'Patient', body: Buffer.alloc(0), count: 0 },
  { name: 'big', type: 'Observation', body: Buffer.from(BIG), count: 60_000 },
  {
    name: 'big-bad-near-end',
    type: 'Observation',
    body: Buffer.from(BIG.slice(0, BIG.length - 500) + 'x' + BIG.slice(BIG.length - 500)),
    count: 60_000,
  },
];

/** Serves each case's body in uneven pieces, so lines and UTF-8 sequences straddle chunks. */
async function serve(t: T): Promise<string> {
  const server = createServer((req, res) => {
    const c = CASES.find((x) => req.url === `/files/${x.name}.ndjson`);
    if (!c) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/fhir+ndjson', 'content-length': c.body.length });
    const cuts = [0, 1, 7, 1000, 65_537, 1_048_577, 4_000_003].filter((n) => n < c.body.length);
    cuts.push(c.body.length);
    for (let k = 0; k + 1 < cuts.length; k++) res.write(c.body.subarray(cuts[k], cuts[k + 1]));
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function record(base: string, c: Case): FileRecord {
  return {
    kind: 'output',
    url: `${base}/files/${c.name}.ndjson`,
    path: `output/${c.name}.ndjson`,
    type: c.type,
    ...(c.count !== undefined ? { count: c.count } : {}),
  };
}

/** What must be the same on both paths. */
function outcome(r: FileResult): unknown {
  return { status: r.status, lines: r.lines, bytes: r.bytes, error: r.error };
}

describe('verification on the worker thread', () => {
  test('gives the same result, message and file on disk as verification on the main thread', async (t) => {
    const base = await serve(t);
    const http = new HttpSession({ waits: { ...DEFAULT_WAITS, ...FAST_WAITS }, clock: systemClock });
    t.after(() => http.close());
    const dirs = { main: join(tempDir(t), 'main'), worker: join(tempDir(t), 'worker') };
    const seen = new Set<string>();
    for (const c of CASES) {
      const file = record(base, c);
      const [plain, offloaded] = await Promise.all([
        downloadFile(http, file, { outDir: dirs.main, authorize: false, gzip: false }),
        downloadFile(http, file, {
          outDir: dirs.worker,
          authorize: false,
          gzip: false,
          verifyOffThread: true,
        }),
      ]);
      assert.deepEqual(outcome(offloaded), outcome(plain), c.name);
      seen.add(`${plain.status}:${plain.error?.message.split(' ').slice(0, 3).join(' ') ?? ''}`);
      const onDisk = (dir: string): boolean => existsSync(join(dir, file.path));
      assert.equal(onDisk(dirs.worker), plain.status === 'done', c.name);
      assert.equal(onDisk(dirs.main), plain.status === 'done', c.name);
      assert.equal(existsSync(join(dirs.worker, `${file.path}.part`)), false, `${c.name}: .part left`);
      if (plain.status === 'done') {
        assert.deepEqual(readFileSync(join(dirs.worker, file.path)), c.body, c.name);
        assert.equal(plain.lines, c.count ?? plain.lines);
      }
    }
    // The corpus exercises success and each kind of failure, so the comparison cannot pass vacuously.
    const statuses = CASES.map((c) => c.name);
    assert.ok(seen.has('done:'), [...seen].join(' | '));
    assert.ok(
      [...seen].filter((s) => s.startsWith('failed:')).length >= 3,
      `${[...seen].join(' | ')} for ${statuses.join(',')}`,
    );
  });
});
