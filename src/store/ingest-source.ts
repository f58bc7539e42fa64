import { Worker } from 'node:worker_threads';
import type { LoadProblem } from './loader.js';
import type { PackedBatch } from './packed-batch.js';

export type { LoadProblem };

/** What the ingest worker is told to do. */
export interface IngestWorkerData {
  /** Loadable files, in load order. */
  files: string[];
  /** A batch ends at this many resources... */
  batchRows: number;
  /** ...or this many characters of JSON, whichever comes first. */
  batchBytes: number;
  /** Batches the worker may send before the first is acknowledged: the bound on buffered batches. */
  inFlight: number;
}

/** What the ingest worker reports, in file order. */
export type IngestEvent =
  /** Prepared rows of an NDJSON file, sorted by (type, id), and the lines rejected since the last batch. */
  | ({ kind: 'batch'; file: string; count: number; problems: LoadProblem[] } & PackedBatch)
  /** A file that is one JSON document (a resource or a Bundle): the loading thread reads it itself. */
  | { kind: 'json'; file: string }
  /** The last batch of an NDJSON file has been sent. */
  | { kind: 'end'; file: string }
  | { kind: 'done' };

/**
 * Prepare NDJSON files on a worker thread and yield its events in order. Backpressure is by credit:
 * the worker holds back once `inFlight` batches are unacknowledged, and a batch is acknowledged when
 * the consumer asks for the event after it, so memory stays at about `inFlight + 1` batches however
 * large the input. Stopping the iteration early stops the worker.
 * @throws Error when the worker thread fails
 */
export async function* preparedEvents(
  data: IngestWorkerData,
): AsyncGenerator<Exclude<IngestEvent, { kind: 'done' }>> {
  const worker = new Worker(new URL('./ingest-worker.js', import.meta.url), { workerData: data });
  const queue: IngestEvent[] = [];
  let failure: Error | undefined;
  let notify: (() => void) | undefined;
  const wake = (): void => {
    notify?.();
    notify = undefined;
  };
  worker.on('message', (event: IngestEvent) => {
    queue.push(event);
    wake();
  });
  worker.on('error', (err) => {
    failure = err;
    wake();
  });
  worker.on('exit', (code) => {
    failure ??= new Error(`ingest worker stopped early (exit code ${code})`);
    wake();
  });
  try {
    for (;;) {
      const event = queue.shift();
      if (event === undefined) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => (notify = resolve));
        continue;
      }
      if (event.kind === 'done') return;
      yield event;
      if (event.kind === 'batch') worker.postMessage('ack');
    }
  } finally {
    worker.removeAllListeners();
    await worker.terminate();
  }
}
