// The FileStorage contract: behaviour every storage shares, run against each implementation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { NdjsonSeries } from '../../src/storage/index.js';
import type { FileStorage } from '../../src/storage/index.js';

type TestContext = { after: (fn: () => Promise<void> | void) => void };

/** Gives a fresh, empty storage for one test. */
export type OpenStorage = (t: TestContext) => Promise<FileStorage>;

/** Read a stream to one Buffer (test files are small). */
export async function slurp(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function put(storage: FileStorage, jobId: string, name: string, text: string): Promise<void> {
  const writer = await storage.createWriter(jobId, name);
  await writer.write(text);
  await writer.commit();
}

/** Register the shared tests inside the caller's describe. */
export function storageContract(open: OpenStorage): void {
  test('a committed file is listed with its size and its exact bytes', async (t) => {
    const storage = await open(t);
    const writer = await storage.createWriter('job1', '1.Patient.1.ndjson');
    await writer.write('{"resourceType":"Patient","id":"é"}\n');
    await writer.write(new TextEncoder().encode('{"resourceType":"Patient","id":"b"}\n'));
    assert.equal(writer.bytes, 73, 'bytes counts UTF-8 bytes of strings and arrays');
    const info = await writer.commit();
    assert.deepEqual(info, { name: '1.Patient.1.ndjson', bytes: 73 });
    assert.deepEqual(await storage.stat('job1', '1.Patient.1.ndjson'), info);
    const text = (await slurp(storage.read('job1', '1.Patient.1.ndjson'))).toString('utf8');
    assert.equal(text, '{"resourceType":"Patient","id":"é"}\n{"resourceType":"Patient","id":"b"}\n');
  });

  test('a file is not visible under its name before commit', async (t) => {
    const storage = await open(t);
    const writer = await storage.createWriter('job1', '1.Patient.1.ndjson');
    await writer.write('x'.repeat(4096) + '\n');
    assert.equal(await storage.stat('job1', '1.Patient.1.ndjson'), undefined);
    await writer.commit();
    assert.equal((await storage.stat('job1', '1.Patient.1.ndjson'))?.bytes, 4097);
  });

  test('an aborted file leaves nothing behind', async (t) => {
    const storage = await open(t);
    const writer = await storage.createWriter('job1', '2.Observation.1.ndjson');
    await writer.write('{"a":1}\n');
    await writer.abort();
    assert.equal(await storage.stat('job1', '2.Observation.1.ndjson'), undefined);
  });

  test('many writes past the stream buffers arrive complete and in order', async (t) => {
    const storage = await open(t);
    const writer = await storage.createWriter('job1', '3.Observation.1.ndjson');
    const hash = createHash('sha256');
    for (let i = 0; i < 96; i++) {
      const chunk = Buffer.alloc(64 * 1024, String.fromCharCode(97 + (i % 26)));
      hash.update(chunk);
      await writer.write(chunk);
    }
    await writer.commit();
    const got = await slurp(storage.read('job1', '3.Observation.1.ndjson'));
    assert.equal(got.length, 96 * 64 * 1024);
    assert.equal(createHash('sha256').update(got).digest('hex'), hash.digest('hex'));
  });

  test('a byte range reads from start to end inclusive', async (t) => {
    const storage = await open(t);
    await put(storage, 'job1', 'f.ndjson', '0123456789abcdef');
    assert.equal((await slurp(storage.read('job1', 'f.ndjson', { start: 3, end: 7 }))).toString(), '34567');
    assert.equal(
      (await slurp(storage.read('job1', 'f.ndjson', { start: 10, end: 15 }))).toString(),
      'abcdef',
    );
  });

  test('a missing file has no stat', async (t) => {
    const storage = await open(t);
    assert.equal(await storage.stat('job1', 'nothing.ndjson'), undefined);
  });

  test('removePrefix removes only the job files whose names start with the prefix', async (t) => {
    const storage = await open(t);
    await put(storage, 'job1', '1.Patient.1.ndjson', 'a\n');
    await put(storage, 'job1', '1.Patient.2.ndjson', 'b\n');
    await put(storage, 'job1', '10.Patient.1.ndjson', 'c\n');
    await put(storage, 'job2', '1.Patient.1.ndjson', 'd\n');
    await storage.removePrefix('job1', '1.');
    assert.equal(await storage.stat('job1', '1.Patient.1.ndjson'), undefined);
    assert.equal(await storage.stat('job1', '1.Patient.2.ndjson'), undefined);
    assert.ok(await storage.stat('job1', '10.Patient.1.ndjson'));
    assert.ok(await storage.stat('job2', '1.Patient.1.ndjson'));
  });

  test('removeJob removes every file of that job and none of a job whose id extends it', async (t) => {
    const storage = await open(t);
    await put(storage, 'job1', 'a.ndjson', 'a\n');
    await put(storage, 'job1', 'b.ndjson', 'b\n');
    await put(storage, 'job10', 'a.ndjson', 'c\n');
    await storage.removeJob('job1');
    assert.equal(await storage.stat('job1', 'a.ndjson'), undefined);
    assert.equal(await storage.stat('job1', 'b.ndjson'), undefined);
    assert.ok(await storage.stat('job10', 'a.ndjson'));
    await storage.removeJob('never-existed');
  });

  test('names that could leave the job folder are refused as invalid requests', async (t) => {
    const storage = await open(t);
    const invalid = { code: 'FHIRHOSE_ERR_INVALID_REQUEST' };
    await assert.rejects(storage.createWriter('job1', '../escape'), invalid);
    await assert.rejects(storage.createWriter('..', 'a.ndjson'), invalid);
    await assert.rejects(storage.stat('job1', 'a/b'), invalid);
    await assert.rejects(storage.removePrefix('job1', '../'), invalid);
    assert.throws(() => storage.read('job1', '.hidden'), invalid);
  });

  test('an NDJSON series starts a new file past its byte limit', async (t) => {
    const storage = await open(t);
    const series = new NdjsonSeries({
      storage,
      jobId: 'job1',
      nameFor: (n) => `4.Patient.${n}.ndjson`,
      maxBytes: 1024,
    });
    for (let i = 0; i < 5; i++) await series.writeLines([`{"id":"${i}","pad":"${'x'.repeat(600)}"}`]);
    const files = await series.close();
    assert.equal(files.length, 3);
    assert.deepEqual(
      files.map((f) => f.count),
      [2, 2, 1],
    );
    for (const f of files) assert.equal((await storage.stat('job1', f.name))?.bytes, f.bytes);
  });
}
