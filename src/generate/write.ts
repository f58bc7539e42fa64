import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ZlibOptions } from 'node:zlib';
import { generateResources } from './generate.js';
import type { GenerateOptions } from './generate.js';

/** Options of `writeGenerated`. */
export interface WriteGeneratedOptions extends GenerateOptions {
  /** Directory for the NDJSON files; created when missing. */
  readonly outDir: string;
  /** Write `Type.ndjson.gz` instead of `Type.ndjson`. */
  readonly gzip?: boolean;
}

/** What `writeGenerated` wrote. */
export interface WriteGeneratedResult {
  /** Resources written per resource type, keys in alphabetical order. */
  readonly counts: Record<string, number>;
  /** Paths of the files written, in alphabetical order. */
  readonly files: string[];
}

/** Strings are gathered per type and written in chunks of about this many UTF-16 units. */
const CHUNK_CHARS = 256 * 1024;
/** Stream buffer per file: several chunks may be in flight, so generating overlaps with writing. */
const HIGH_WATER_MARK = 1024 * 1024;
// Level 1: this data compresses about 10x at level 1 for two thirds of level 6's CPU time.
// zlib hands stream options such as highWaterMark on to its Transform; @types/node omits them.
const GZIP_OPTIONS: ZlibOptions = { level: 1, ...{ highWaterMark: HIGH_WATER_MARK } };

interface Sink {
  readonly partPath: string;
  readonly path: string;
  readonly head: Writable;
  readonly done: Promise<void>;
  buffer: string;
  count: number;
}

function openSink(outDir: string, type: string, gzip: boolean): Sink {
  const path = join(outDir, type + (gzip ? '.ndjson.gz' : '.ndjson'));
  const partPath = path + '.part';
  const file = createWriteStream(partPath, { highWaterMark: HIGH_WATER_MARK });
  const gz = gzip ? createGzip(GZIP_OPTIONS) : undefined;
  const head = gz ?? file;
  const done = gz === undefined ? finished(file) : pipeline(gz, file);
  // A stream error settles `done` at any time; it is raced at each drain and awaited at the end,
  // so mark it handled here to keep an early failure from surfacing as an unhandled rejection.
  done.catch(() => undefined);
  return { partPath, path, head, done, buffer: '', count: 0 };
}

async function flush(sink: Sink): Promise<void> {
  const chunk = sink.buffer;
  sink.buffer = '';
  if (!sink.head.write(chunk)) await Promise.race([once(sink.head, 'drain'), sink.done]);
}

async function close(sink: Sink): Promise<void> {
  if (sink.buffer.length > 0) await flush(sink);
  sink.head.end();
  await sink.done;
}

async function discard(sinks: Iterable<Sink>): Promise<void> {
  const list = [...sinks];
  for (const sink of list) sink.head.destroy();
  await Promise.allSettled(list.map((s) => s.done));
  await Promise.all(list.map((s) => rm(s.partPath, { force: true })));
}

/**
 * Generate a data set (see `generateResources`) into one NDJSON file per resource type,
 * `Patient.ndjson` and so on, respecting backpressure. Files appear under their final names
 * only once every file is complete; on failure the partial files are removed.
 * @param options - patient count, seed, output directory and compression
 * @throws TypeError for invalid options; the file system's error when a write fails
 */
export async function writeGenerated(options: WriteGeneratedOptions): Promise<WriteGeneratedResult> {
  const resources = generateResources(options);
  await mkdir(options.outDir, { recursive: true });
  const sinks = new Map<string, Sink>();
  try {
    for (const resource of resources) {
      const type = resource.resourceType;
      let sink = sinks.get(type);
      if (sink === undefined) {
        sink = openSink(options.outDir, type, options.gzip === true);
        sinks.set(type, sink);
      }
      sink.buffer += JSON.stringify(resource) + '\n';
      sink.count++;
      if (sink.buffer.length >= CHUNK_CHARS) await flush(sink);
    }
    await Promise.all([...sinks.values()].map(close));
  } catch (err) {
    await discard(sinks.values());
    throw err;
  }
  const ordered = [...sinks.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [, sink] of ordered) await rename(sink.partPath, sink.path);
  return {
    counts: Object.fromEntries(ordered.map(([type, sink]) => [type, sink.count])),
    files: ordered.map(([, sink]) => sink.path),
  };
}
