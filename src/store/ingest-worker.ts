// Entry of an ingest worker thread: turns chunks of NDJSON lines into prepared batches (parsing,
// validating, serializing, hashing, indexing: the CPU half of a load) while the loading thread only
// writes to the database. See ingest-source.ts for the protocol.
import { parentPort, workerData } from 'node:worker_threads';
import { eachLine } from './ndjson-lines.js';
import { BatchBuilder } from './prepared-batch.js';
import type { ChunkResult, ChunkTask, ChunkReturn, IngestWorkerData } from './ingest-source.js';

const port = parentPort;
if (port === null) throw new TypeError('ingest-worker.js must run as a worker thread');
const options = workerData as IngestWorkerData;

/**
 * JSON buffers of written batches, back from the loading thread to be filled again. Every large
 * buffer is handed on or kept here, never dropped: a buffer that came in by transfer is not counted
 * towards this thread's heap, so garbage collection would not hurry to free it, and a load would
 * pile them up by the hundred megabytes.
 */
const spare: Buffer[] = [];

function prepareChunk(task: ChunkTask): { result: ChunkResult; transfer: ArrayBuffer[] } {
  const bytes = Buffer.from(task.chunk, 0, task.length);
  const result: ChunkResult = { seq: task.seq, batches: [], problems: [], lines: 0, chunk: task.chunk };
  let builder: BatchBuilder | undefined;
  const finish = (): void => {
    if (builder) result.batches.push(builder.build({ sortByKey: options.sortByKey }));
    builder = undefined;
  };
  result.lines = eachLine(bytes, task.length, (line, parsed) => {
    if ('reason' in parsed) {
      result.problems.push({ line, reason: parsed.reason });
      return;
    }
    // The stored JSON is each line and 90-odd bytes of meta; a quarter more leaves room to spare.
    builder ??= new BatchBuilder(spare.pop() ?? task.length + (task.length >> 2));
    builder.add(parsed.resource, parsed.text);
    // Bytes as well as rows: a chunk of a few very large resources must not make one huge batch
    // (the writer holds it whole, and a grown buffer is kept for reuse).
    if (builder.rows >= options.batchRows || builder.bytes >= options.batchBytes) finish();
  });
  finish();
  // The small arrays of a batch are copied; its JSON and the chunk are moved.
  return { result, transfer: [task.chunk, ...result.batches.map((b) => b.json.buffer as ArrayBuffer)] };
}

port.on('message', (message: ChunkTask | ChunkReturn) => {
  if ('json' in message) {
    for (const buffer of message.json) spare.push(Buffer.from(buffer));
    return;
  }
  const { result, transfer } = prepareChunk(message);
  port.postMessage(result, transfer);
});
