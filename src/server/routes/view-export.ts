import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ViewExportService } from '../../export/index.js';
import { ForbiddenError, InvalidRequestError, operationOutcome, readPreferences } from '../../fhir/index.js';
import type { RoutePlugin } from '../context.js';
import { FHIR_JSON } from '../error-handler.js';
import { grantOf } from '../request-grant.js';
import { checkViews } from '../view-export-views.js';
import {
  acceptedParameters,
  fileMediaType,
  parseViewExport,
  progressParameters,
  resultParameters,
} from '../view-export-wire.js';
import type { ViewResolver } from '../view-export-wire.js';
import { callerOf, clientIdOf } from './export-client.js';
import { parseRange } from './export-files.js';
import { refuseOtherMethods } from './method-not-allowed.js';

/** Options of the `$viewdefinition-export` routes. */
export interface ViewExportRouteOptions {
  service: ViewExportService;
  /** Resolves `viewReference`; absent, a reference is answered 400 not-supported. */
  resolveView?: ViewResolver;
  /** Bound on the kick-off body. */
  maxBodyBytes?: number;
}

const KICKOFF = '/$viewdefinition-export';
const STATUS = '/$viewdefinition-export-status/:jobId';
const RESULT = '/$viewdefinition-export-result/:jobId';
const FILES = '/$viewdefinition-export-files/:jobId/:name';

function kickoff(options: ViewExportRouteOptions, baseUrl: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const prefer = request.headers.prefer;
    if (!readPreferences(prefer === undefined ? [] : [prefer].flat()).has('respond-async')) {
      throw new InvalidRequestError('$viewdefinition-export needs the header Prefer: respond-async', {
        expression: 'Prefer',
      });
    }
    const parsed = parseViewExport(request.body, Date.now());
    const grant = grantOf(request);
    if (grant && parsed.patients.length > 0 && !grant.scopes.canRead('Patient'))
      throw new ForbiddenError('patient needs read access to Patient', { expression: 'patient' });
    if (grant && parsed.groups.length > 0 && !grant.scopes.canRead('Group'))
      throw new ForbiddenError('group needs read access to Group', { expression: 'group' });
    const views = await checkViews(parsed.views, {
      format: parsed.format,
      header: parsed.header,
      ...(options.resolveView ? { resolve: options.resolveView } : {}),
      ...(grant ? { access: grant.scopes } : {}),
    });
    const { jobId } = await options.service.kickoff(
      {
        views,
        format: parsed.format,
        header: parsed.header,
        patients: parsed.patients,
        groups: parsed.groups,
        ...(parsed.since !== undefined ? { since: parsed.since } : {}),
        ...(parsed.clientTrackingId !== undefined ? { clientTrackingId: parsed.clientTrackingId } : {}),
        requestUrl: baseUrl + KICKOFF,
      },
      clientIdOf(request),
    );
    const statusUrl = `${baseUrl}/$viewdefinition-export-status/${jobId}`;
    return reply
      .code(202)
      .header('content-location', statusUrl)
      .type(FHIR_JSON)
      .send(acceptedParameters(jobId, statusUrl, parsed.clientTrackingId));
  };
}

/**
 * `$viewdefinition-export` (SQL on FHIR v2 draft, system level): kick-off, status (202, then 303 to
 * the result), result (200 Parameters), DELETE, and file downloads with the Bulk Data file checks.
 */
export function viewExportRoutes(options: ViewExportRouteOptions): RoutePlugin {
  const { service } = options;
  return async (app, ctx) => {
    app.post(
      KICKOFF,
      options.maxBodyBytes ? { bodyLimit: options.maxBodyBytes } : {},
      kickoff(options, ctx.baseUrl),
    );
    refuseOtherMethods(app, KICKOFF, ['POST']);

    app.get(STATUS, async (request, reply) => {
      const { jobId } = request.params as { jobId: string };
      const status = await service.status(jobId, callerOf(request));
      if (status.state === 'finished') {
        return reply
          .code(303)
          .header('location', `${ctx.baseUrl}/$viewdefinition-export-result/${jobId}`)
          .send();
      }
      const progress = status.queued ? 'queued' : `${status.percent}% complete`;
      return reply
        .code(202)
        .header('retry-after', String(status.retryAfterSeconds))
        .header('x-progress', progress)
        .type(FHIR_JSON)
        .send(progressParameters(jobId, status));
    });

    app.delete(STATUS, async (request, reply) => {
      const { jobId } = request.params as { jobId: string };
      await service.cancel(jobId, clientIdOf(request));
      return reply
        .code(202)
        .type(FHIR_JSON)
        .send(operationOutcome('information', 'informational', 'view export deleted'));
    });
    refuseOtherMethods(app, STATUS, ['GET', 'DELETE']);

    app.get(RESULT, async (request, reply) => {
      const { jobId } = request.params as { jobId: string };
      const result = await service.result(jobId, callerOf(request));
      if (result.state === 'failed') {
        // 'processing': a failed job will not succeed on retry.
        return reply
          .code(500)
          .type(FHIR_JSON)
          .send(operationOutcome('error', 'processing', result.message));
      }
      return reply.header('cache-control', 'no-store').type(FHIR_JSON).send(resultParameters(result));
    });
    refuseOtherMethods(app, RESULT, ['GET']);

    app.get(FILES, async (request, reply) => {
      const { jobId, name } = request.params as { jobId: string; name: string };
      const file = await service.openFile(jobId, name, callerOf(request), (size) =>
        parseRange(request.headers.range, size),
      );
      const { bytes, expiresAt, stream, range } = file;
      if (expiresAt !== null) reply.header('expires', new Date(expiresAt).toUTCString());
      reply.header('accept-ranges', 'bytes').type(fileMediaType(file.format));
      if (stream === null || range === null) {
        return reply.code(416).header('content-range', `bytes */${bytes}`).send();
      }
      if (range) {
        reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${bytes}`)
          .header('content-length', String(range.end - range.start + 1));
        return reply.send(stream);
      }
      return reply.header('content-length', String(bytes)).send(stream);
    });
    refuseOtherMethods(app, FILES, ['GET']);
  };
}
