import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ExportLevel, ExportService, KickoffInput, KickoffLimits } from '../../export/index.js';
import {
  EXPORTABLE_TYPES,
  KICKOFF_LIMIT_SETTINGS,
  authorizeExport,
  parseKickoff,
} from '../../export/index.js';
import { operationOutcome } from '../../fhir/index.js';
import type { RoutePlugin } from '../context.js';
import { FHIR_JSON } from '../error-handler.js';
import { grantOf } from '../request-grant.js';
import { clientIdOf } from './export-client.js';
import { refuseOtherMethods } from './method-not-allowed.js';

function headerValues(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Kick-off endpoints (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-kick-off-request):
 * `[base]/$export`, `[base]/Patient/$export` and `[base]/Group/[id]/$export`, by GET or POST.
 * A GET kick-off starts a job, so these URLs answer HEAD with 405 instead of running the GET.
 * @param limits - bounds on a kick-off; the body limit is enforced here, the others by parseKickoff
 */
export function exportKickoffRoutes(service: ExportService, limits: KickoffLimits): RoutePlugin {
  return async (app, ctx) => {
    const handle = (level: ExportLevel) => async (request: FastifyRequest, reply: FastifyReply) => {
      const groupId = (request.params as { id?: string }).id;
      const input: KickoffInput = {
        level,
        method: request.method === 'POST' ? 'POST' : 'GET',
        query: request.query as KickoffInput['query'],
        prefer: headerValues(request.headers.prefer),
        // For POST the manifest's `request` is the URL without parameters (the IG's rule).
        requestUrl: ctx.baseUrl + (request.method === 'POST' ? request.url.split('?')[0] : request.url),
      };
      if (groupId !== undefined) input.groupId = groupId;
      if (request.method === 'POST') input.body = request.body;
      const grant = grantOf(request);
      const requested = parseKickoff(input, { exportableTypes: EXPORTABLE_TYPES, limits });
      const parsed = grant ? authorizeExport(requested, grant.scopes) : requested;
      const { jobId } = await service.kickoff(parsed, clientIdOf(request));
      reply.code(202).header('content-location', `${ctx.baseUrl}/$export-status/${jobId}`);
      if (parsed.separateExportStatus)
        reply.header('preference-applied', 'respond-async, separate-export-status');
      return reply
        .type(FHIR_JSON)
        .send(
          operationOutcome('information', 'informational', `export accepted; poll the Content-Location URL`),
        );
    };
    for (const [url, level] of [
      ['/$export', 'system'],
      ['/Patient/$export', 'patient'],
      ['/Group/:id/$export', 'group'],
    ] as const) {
      app.get(url, { exposeHeadRoute: false }, handle(level));
      app.post(
        url,
        {
          bodyLimit: limits.maxBodyBytes,
          config: { bodyLimitSetting: KICKOFF_LIMIT_SETTINGS.maxBodyBytes },
        },
        handle(level),
      );
      refuseOtherMethods(app, url, ['GET', 'POST'], { refuseHead: true });
    }
  };
}
