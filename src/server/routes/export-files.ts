import { pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ByteRange, ExportService } from '../../export/index.js';
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
      if (file.range) {
        const { start, end } = file.range;
        reply
          .code(206)
          .header('content-range', `bytes ${start}-${end}/${bytes}`)
          .header('content-length', String(end - start + 1));
        return reply.send(stream);
      }
      if (acceptsGzip(headers['accept-encoding'])) {
        reply.header('content-encoding', 'gzip');
        // pipeline() destroys both streams if either fails, so no descriptor leaks on a dropped client.
        // Level 1 with 256 KiB output chunks: NDJSON shrinks about 10x, and zlib's default 16 KiB
        // chunks cost one thread-pool round trip per 16 KiB, a third of the speed.
        const gzip = createGzip({ level: 1, chunkSize: 256 * 1024 });
        return reply.send(
          pipeline(stream, gzip, (err) => {
            if (!err) return;
            // A client that hangs up is routine; anything else is a failed read or deflate.
            const aborted = request.raw.destroyed || reply.raw.destroyed;
            if (aborted) request.log.debug({ err, jobId, name }, 'gzip download aborted by the client');
            else request.log.error({ err, jobId, name }, 'gzip download failed');
            // Headers are out, so a truncated body must not look complete: end by closing the connection.
            reply.raw.destroy(err);
          }),
        );
      }
      reply.header('content-length', String(bytes));
      return reply.send(stream);
    });
  };
}
