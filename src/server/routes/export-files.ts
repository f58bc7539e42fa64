import type { OutgoingHttpHeaders } from 'node:http';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ByteRange, ExportService, OpenedFile } from '../../export/index.js';
import type { RoutePlugin } from '../context.js';
import { callerOf } from './export-client.js';

const NDJSON = 'application/fhir+ndjson';

/** True when Accept-Encoding allows gzip (q > 0), per RFC 9110 §12.5.3. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/**
 * A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; undefined when absent or ignored, null when
 * unsatisfiable. A server may ignore Range (RFC 9110 §14.2) and must ignore a unit it does not know,
 * so another unit, several ranges and a malformed value are all ignored: the whole file is served.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined | null {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const [first = '', last = ''] = m ? m.slice(1) : [];
  // `bytes=5-2` is invalid too (RFC 9110 §14.1.1: last-pos below first-pos).
  if (!m || (first === '' && last === '') || (first !== '' && last !== '' && +last < +first))
    return undefined;
  let start: number;
  let end: number;
  if (first === '') {
    start = Math.max(0, size - Number(last));
    end = size - 1;
  } else {
    start = Number(first);
    end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  }
  if (start > end || start >= size) return null;
  return { start, end };
}

/**
 * File download (https://hl7.org/fhir/uv/bulkdata/export.html#file-request): the service checks the
 * job's owner and the token's scopes; `Range` for resume, gzip only when the client offers it.
 */
export function exportFileRoutes(service: ExportService): RoutePlugin {
  return async (app) => {
    app.get('/$export-files/:jobId/:name', async (request, reply) => {
      const { jobId, name } = request.params as { jobId: string; name: string };
      const { headers } = request;
      const file = await service.openFile(jobId, name, callerOf(request), (size) =>
        parseRange(headers.range, size),
      );
      const { bytes, expiresAt, stream } = file;
      if (expiresAt !== null) reply.header('expires', new Date(expiresAt).toUTCString());
      reply.header('accept-ranges', 'bytes').header('vary', 'Accept-Encoding').type(NDJSON);
      if (stream === null || file.range === null) {
        return reply.code(416).header('content-range', `bytes */${bytes}`).send();
      }
      const gzip = !file.range && acceptsGzip(headers['accept-encoding']);
      if (gzip) reply.header('content-encoding', 'gzip');
      if (file.range) {
        const { start, end } = file.range;
        reply
          .code(206)
          .header('content-range', `bytes ${start}-${end}/${bytes}`)
          .header('content-length', String(end - start + 1));
      } else if (!gzip) {
        reply.header('content-length', String(bytes));
      }
      // The first chunk is read before any header goes out, so a file that cannot be read still gets
      // an error status.
      const body = await Body.open(stream);
      const failed = (err: unknown): void => {
        // A client that hangs up is routine; anything else is a failed read or deflate.
        const aborted = request.raw.destroyed || reply.raw.destroyed;
        if (aborted) request.log.debug({ err, jobId, name }, 'download aborted by the client');
        else request.log.error({ err, jobId, name }, 'download failed');
        // Headers are out, so a truncated body must not look complete: end by closing the connection.
        reply.raw.destroy(err instanceof Error ? err : undefined);
      };
      if (gzip) {
        // Level 1 with 256 KiB output chunks: NDJSON shrinks about 10x, and zlib's default 16 KiB
        // chunks cost one thread-pool round trip per 16 KiB, a third of the speed. zlib has read a
        // chunk once its write calls back, so the file's buffer goes back to the reader then.
        const deflate = createGzip({ level: 1, chunkSize: 256 * 1024 });
        body.copyTo(deflate).then(
          () => {
            if (!deflate.destroyed) deflate.end();
          },
          (err: unknown) => {
            deflate.destroy();
            failed(err);
          },
        );
        return reply.send(deflate);
      }
      // Written here rather than piped by fastify: a chunk goes back to the reader only once the
      // socket's write of it has called back, which a pipe does not tell.
      reply.hijack();
      const res = reply.raw;
      res.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
      if (request.method === 'HEAD') {
        stream.destroy();
        res.end();
        return reply;
      }
      try {
        await body.copyTo(res);
        if (!res.destroyed) res.end();
      } catch (err) {
        failed(err);
      }
      return reply;
    });
  };
}

/** Resolves on the sink's next 'drain', or once it closes or fails (a dropped client). */
function drained(sink: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      sink.off('error', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
    sink.on('error', done);
  });
}

/**
 * A file's chunks, written into a sink with each handed back to the reader (`release`) once the
 * sink's write of it has called back, so a download reuses a few buffers whatever its speed.
 */
class Body {
  private constructor(
    private readonly source: FileStream,
    private readonly chunks: AsyncIterator<Buffer>,
    private first: IteratorResult<Buffer>,
  ) {}

  /**
   * Read the first chunk of `source`.
   * @throws the read error of the file (one that cannot be opened)
   */
  static async open(source: FileStream): Promise<Body> {
    const chunks = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    return new Body(source, chunks, await chunks.next());
  }

  /**
   * Write every chunk into `sink`. Stops, and closes the file, when the sink is destroyed (a dropped client).
   * @throws the read error of the file
   */
  async copyTo(sink: Writable): Promise<void> {
    const { source, chunks } = this;
    try {
      for (let next = this.first; !next.done; next = await chunks.next()) {
        if (sink.destroyed) break;
        const chunk = next.value;
        const done = source.release ? () => source.release!(chunk) : undefined;
        if (!sink.write(chunk, done)) await drained(sink);
      }
    } finally {
      // A stop before the end closes the file.
      await chunks.return?.();
    }
  }
}

type FileStream = NonNullable<OpenedFile['stream']>;
