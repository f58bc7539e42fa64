import type { ExportService } from '../../export/index.js';
import { operationOutcome, readPreferences } from '../../fhir/index.js';
import type { RoutePlugin } from '../context.js';
import { FHIR_JSON } from '../error-handler.js';
import { callerOf, clientIdOf } from './export-client.js';

const MANIFEST_JSON = 'application/json; charset=utf-8';
const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  500: '500 Internal Server Error',
};

/**
 * Status and cancel (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request).
 * With `Prefer: separate-export-status` the HTTP status describes the poll and X-Export-Status the job.
 */
export function exportStatusRoutes(service: ExportService): RoutePlugin {
  return async (app) => {
    app.get('/$export-status/:jobId', async (request, reply) => {
      const { jobId } = request.params as { jobId: string };
      const status = await service.status(jobId, callerOf(request), waitSeconds(request.headers.prefer));
      // A poll answered because the server stops ends its connection too: the server's close
      // otherwise waits for the kept-alive socket to time out (72 s in fastify).
      if (service.stopping) reply.header('connection', 'close');
      // The hold as a Server-Timing metric (W3C Server Timing), so a client can tell it from latency.
      if (status.heldMs !== undefined) reply.header('server-timing', `hold;dur=${status.heldMs}`);
      const separate = status.request.separateExportStatus;
      const answer = (code: number): void => {
        if (separate) reply.code(200).header('x-export-status', STATUS_TEXT[code]);
        else reply.code(code);
      };
      if (status.state === 'in-progress') {
        answer(202);
        const progress =
          status.queuedBehind === undefined
            ? `${status.percent}% complete`
            : `queued (${status.queuedBehind} ahead)`;
        reply.header('x-progress', progress).header('retry-after', String(status.retryAfterSeconds));
        if (status.partial) return reply.type(MANIFEST_JSON).send(JSON.stringify(status.partial));
        return reply.send();
      }
      if (status.state === 'failed') {
        answer(500);
        // 'processing', not a transient code such as 'exception': a failed job will not succeed on retry.
        return reply.type(FHIR_JSON).send(operationOutcome('error', 'processing', status.message));
      }
      answer(200);
      reply.header('expires', new Date(status.expiresAt).toUTCString()).header('cache-control', 'no-store');
      return reply.type(MANIFEST_JSON).send(JSON.stringify(status.manifest));
    });

    // Later pages of a partial manifest: polled like the status URL until final (200).
    app.get('/$export-status/:jobId/page/:page', async (request, reply) => {
      const { jobId, page } = request.params as { jobId: string; page: string };
      const index = /^\d{1,6}$/.test(page) ? Number(page) : -1;
      const result = await service.manifestPage(jobId, callerOf(request), index);
      if (!result.ready)
        return reply.code(202).header('retry-after', String(result.retryAfterSeconds)).send();
      if (result.expiresAt !== null) reply.header('expires', new Date(result.expiresAt).toUTCString());
      return reply
        .type(MANIFEST_JSON)
        .header('cache-control', 'no-store')
        .send(JSON.stringify(result.manifest));
    });

    app.delete('/$export-status/:jobId', async (request, reply) => {
      const { jobId } = request.params as { jobId: string };
      await service.cancel(jobId, clientIdOf(request));
      return reply
        .code(202)
        .type(FHIR_JSON)
        .send(operationOutcome('information', 'informational', 'export deleted'));
    });
  };
}

/**
 * The `wait` preference in seconds (RFC 7240 section 4.3: delta-seconds), or 0 when absent or not a
 * non-negative integer; the service caps it.
 */
function waitSeconds(prefer: string | string[] | undefined): number {
  const word = readPreferences(prefer).get('wait');
  return word !== undefined && /^\d{1,6}$/.test(word) ? Number(word) : 0;
}
