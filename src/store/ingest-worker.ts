// Entry of the ingest worker thread: reads, parses, validates and prepares NDJSON lines (the CPU half of
// a load) while the loading thread only writes to the database. See ingest-source.ts for the protocol.
import { parentPort, workerData } from 'node:worker_threads';
import { fileLines, isNdjsonFile, parseLine } from './ndjson-lines.js';
import { packRows } from './packed-batch.js';
import { prepareRow } from './prepared-row.js';
import type { PreparedRow } from './prepared-row.js';
import type { IngestEvent, IngestWorkerData, LoadProblem } from './ingest-source.js';

/** Problems are sent with the next batch; this many end a batch early, so they never pile up. */
const MAX_PROBLEMS_PER_BATCH = 1000;

const port = parentPort;
if (port === null) throw new TypeError('ingest-worker.js must run as a worker thread');
const options = workerData as IngestWorkerData;

let credits = options.inFlight;
let wake: (() => void) | undefined;
port.on('message', (message: unknown) => {
  if (message !== 'ack') return;
  credits += 1;
  wake?.();
});

function post(event: IngestEvent, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(event, transfer);
}

/** Key order of the (type, id) index: rows sorted this way touch its pages in one sweep. */
function byKey(a: PreparedRow, b: PreparedRow): number {
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

async function sendBatch(file: string, rows: PreparedRow[], problems: LoadProblem[]): Promise<void> {
  // Array#sort is stable, so two versions of one resource keep their order.
  const packed = packRows(rows.sort(byKey));
  while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
  credits -= 1;
  post({ kind: 'batch', file, count: rows.length, ...packed, problems }, [
    packed.layout.buffer as ArrayBuffer,
  ]);
}

async function prepareFile(file: string): Promise<void> {
  let rows: PreparedRow[] = [];
  let problems: LoadProblem[] = [];
  let bytes = 0;
  let lineNo = 0;
  const flush = async (): Promise<void> => {
    await sendBatch(file, rows, problems);
    rows = [];
    problems = [];
    bytes = 0;
  };
  try {
    for await (const lines of fileLines(file)) {
      for (const raw of lines) {
        lineNo += 1;
        const line = raw.trim();
        if (line === '') continue;
        const parsed = parseLine(line);
        if ('reason' in parsed) problems.push({ file, line: lineNo, reason: parsed.reason });
        else {
          rows.push(prepareRow(parsed.resource, line));
          bytes += line.length;
        }
        if (rows.length >= options.batchRows || bytes >= options.batchBytes) await flush();
        else if (problems.length >= MAX_PROBLEMS_PER_BATCH) await flush();
      }
    }
  } catch (err) {
    problems.push({ file, line: lineNo, reason: `read failed: ${(err as Error).message}` });
  }
  if (rows.length > 0 || problems.length > 0) await flush();
}

for (const file of options.files) {
  if (!isNdjsonFile(file)) {
    post({ kind: 'json', file });
    continue;
  }
  await prepareFile(file);
  post({ kind: 'end', file });
}
post({ kind: 'done' });
port.close();
