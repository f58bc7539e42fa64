/**
 * The verification thread: it runs one NdjsonVerifier per file for the main thread (verify-offload.ts),
 * so that checking every line overlaps with receiving and writing the bytes instead of adding to them.
 */
import { parentPort } from 'node:worker_threads';
import { VerificationError } from './errors.js';
import { NdjsonVerifier } from './ndjson-verifier.js';
import type { LineExpectation } from './ndjson-verifier.js';

/** What the main thread sends. */
export type ToWorker =
  | { op: 'start'; id: number; expect: LineExpectation }
  | { op: 'chunk'; id: number; chunk: Uint8Array }
  | { op: 'finish'; id: number }
  | { op: 'drop'; id: number };

/** What the worker answers. */
export type FromWorker =
  | { op: 'ack'; id: number; bytes: number }
  | { op: 'done'; id: number; lines: number; bytes: number }
  | { op: 'error'; id: number; message: string; line: number | undefined; verification: boolean };

const port = parentPort;
if (port) {
  const files = new Map<number, NdjsonVerifier>();
  const post = (m: FromWorker): void => port.postMessage(m);
  const fail = (id: number, err: unknown): void => {
    files.delete(id);
    const verification = err instanceof VerificationError;
    post({
      op: 'error',
      id,
      message: err instanceof Error ? err.message : String(err),
      line: verification ? err.line : undefined,
      verification,
    });
  };
  port.on('message', (m: ToWorker) => {
    if (m.op === 'start') {
      files.set(m.id, new NdjsonVerifier(m.expect));
      return;
    }
    const verifier = files.get(m.id);
    if (m.op === 'drop' || !verifier) {
      files.delete(m.id);
      // A chunk for a file that already failed is still acknowledged: the sender counts its bytes.
      if (m.op === 'chunk') post({ op: 'ack', id: m.id, bytes: m.chunk.byteLength });
      return;
    }
    try {
      if (m.op === 'chunk') {
        verifier.scan(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength));
        post({ op: 'ack', id: m.id, bytes: m.chunk.byteLength });
      } else {
        verifier.finish();
        files.delete(m.id);
        post({ op: 'done', id: m.id, lines: verifier.lines, bytes: verifier.bytes });
      }
    } catch (err) {
      if (m.op === 'chunk') post({ op: 'ack', id: m.id, bytes: m.chunk.byteLength });
      fail(m.id, err);
    }
  });
}
