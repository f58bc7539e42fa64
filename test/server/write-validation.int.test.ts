// REST create and update over real HTTP, and `loadPaths`, give the same verdict on the same JSON:
// both use `checkResource`. Before, the loader stored what REST refused, and deep nesting was a 500.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPaths } from '../../src/store/index.js';
import type { LoadProblem } from '../../src/store/index.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';

const nestedArrays = (depth: number): string => `${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}`;
const nestedObjects = (depth: number): string => `${'{"a":'.repeat(depth - 1)}1${'}'.repeat(depth - 1)}`;

interface Case {
  name: string;
  type: string;
  id: string;
  body: Buffer;
  /** Status and issue code REST answers; undefined when the write is accepted. */
  refused?: [number, string];
}

const patient = (id: string, rest: string): Buffer =>
  Buffer.from(`{"resourceType":"Patient","id":"${id}"${rest}}`);

const CASES: Case[] = [
  {
    name: 'a null element',
    type: 'Observation',
    id: 'o1',
    body: Buffer.from('{"resourceType":"Observation","id":"o1","status":"final","code":null}'),
    refused: [422, 'processing'],
  },
  {
    name: 'meta: []',
    type: 'Patient',
    id: 'm1',
    body: patient('m1', ',"meta":[]'),
    refused: [422, 'processing'],
  },
  {
    name: 'a null inside an element',
    type: 'Patient',
    id: 'n1',
    body: patient('n1', ',"name":[{"family":null}]'),
    refused: [422, 'processing'],
  },
  {
    name: '5,000 levels of arrays',
    type: 'Patient',
    id: 'a5000',
    body: patient('a5000', `,"extension":${nestedArrays(5000)}`),
    refused: [400, 'too-costly'],
  },
  {
    name: '5,000 levels of objects',
    type: 'Patient',
    id: 'b5000',
    body: patient('b5000', `,"extension":${nestedObjects(5000)}`),
    refused: [400, 'too-costly'],
  },
  {
    name: '101 levels',
    type: 'Patient',
    id: 'a101',
    body: patient('a101', `,"extension":${nestedArrays(101)}`),
    refused: [400, 'too-costly'],
  },
  {
    name: 'invalid UTF-8',
    type: 'Patient',
    id: 'u1',
    body: Buffer.concat([
      Buffer.from('{"resourceType":"Patient","id":"u1","name":[{"family":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}]}'),
    ]),
    refused: [400, 'invalid'],
  },
  {
    name: '100 levels',
    type: 'Patient',
    id: 'a100',
    body: patient('a100', `,"extension":${nestedArrays(100)}`),
  },
];
interface Answer {
  status: number;
  outcome: { resourceType?: string; issue?: { code: string }[] };
}

async function write(url: string, method: 'POST' | 'PUT', body: Buffer): Promise<Answer> {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/fhir+json' }, body });
  return { status: res.status, outcome: (await res.json()) as Answer['outcome'] };
}

describe('REST writes and loading share one check', () => {
  let server: TestServer;
  let dir: string;
  // One server for the suite: its clean-ups run in the order registered, as `t.after` hooks do.
  const cleanups: (() => Promise<void> | void)[] = [];
  const suite = { after: (fn: () => Promise<void> | void) => cleanups.push(fn) };
  before(async () => {
    server = await startTestServer(suite);
    dir = tempDir(suite);
  });
  after(async () => {
    for (const fn of cleanups) await fn();
  });

  for (const c of CASES) {
    const verdict = c.refused ? `REST answers ${c.refused[0]} and load rejects the line` : 'both accept it';
    test(`${c.name}: ${verdict}`, async () => {
      for (const [method, url] of [
        ['POST', `${server.baseUrl}/${c.type}`],
        ['PUT', `${server.baseUrl}/${c.type}/${c.id}`],
      ] as const) {
        const { status, outcome } = await write(url, method, c.body);
        const seen = `${method}: ${status} ${JSON.stringify(outcome).slice(0, 300)}`;
        if (c.refused) {
          assert.equal(status, c.refused[0], seen);
          assert.equal(outcome.resourceType, 'OperationOutcome');
          assert.equal(outcome.issue?.[0]?.code, c.refused[1], seen);
        } else {
          assert.equal(status, 201, seen);
        }
      }
      const file = join(dir, `${c.id}.ndjson`);
      writeFileSync(file, Buffer.concat([c.body, Buffer.from('\n')]));
      const problems: LoadProblem[] = [];
      const report = await loadPaths(server.runtime.store, [file], { onProblem: (p) => problems.push(p) });
      assert.equal(report.rejected, c.refused ? 1 : 0, JSON.stringify(problems));
      if (c.refused) assert.equal((await fetch(`${server.baseUrl}/${c.type}/${c.id}`)).status, 404);
    });
  }
});
