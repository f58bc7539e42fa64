import type { ExportService } from '../../export/index.js';
import { operationOutcome } from '../../fhir/index.js';
import type { RoutePlugin } from '../context.js';
import { FHIR_JSON } from '../error-handler.js';
import { clientIdOf } from './export-client.js';

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
      const status = await service.status(jobId, clientIdOf(request));
      const separate = status.request.separateExportStatus;
      const answer = (code: number): void => {
        if (separate) reply.code(200).header('x-export-status', STATUS_TEXT[code]);
        else reply.code(code);
      };
      if (status.state === 'in-progress') {
        answer(202);
        reply
          .header('x-progress', `${status.percent}% complete`)
          .header('retry-after', String(status.retryAfterSeconds));
        return reply.send();
      }
      if (status.state === 'failed') {
        answer(500);
        return reply.type(FHIR_JSON).send(operationOutcome('error', 'exception', status.message));
      }
      answer(200);
      reply.header('expires', new Date(status.expiresAt).toUTCString()).header('cache-control', 'no-store');
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(status.manifest));
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
