import type { FastifyReply } from 'fastify';
import {
  ConflictError,
  GoneError,
  NotFoundError,
  PreconditionFailedError,
  operationOutcome,
} from '../../fhir/index.js';
import type { StoredResource, WriteResult } from '../../store/index.js';
import type { RoutePlugin } from '../context.js';
import { FHIR_JSON } from '../error-handler.js';
import { formatEtag, formatHttpDate, parseIfMatch, parsePrefer } from '../http-headers.js';
import type { Preferences } from '../http-headers.js';
import { resourceFromBody } from '../resource-body.js';
import { refuseOtherMethods } from './method-not-allowed.js';
import { knownInstance, knownType } from './path-params.js';
import type { InstanceParams, TypeParams } from './path-params.js';

interface VersionParams extends InstanceParams {
  vid: string;
}

const VERSION_RE = /^[1-9]\d{0,15}$/;

/**
 * The FHIR REST instance interactions (R4 http.html): read, vread, create, update, delete.
 * Search (`GET /:type`, `POST /:type/_search`) lives in `search.ts`.
 */
export const restRoutes: RoutePlugin = async (app, { store, baseUrl }) => {
  app.get<{ Params: InstanceParams }>('/:type/:id', async (request, reply) => {
    const { type, id } = knownInstance(request.params);
    const result = await store.read(type, id);
    if (result.status === 'deleted') throw new GoneError(`${type}/${id} was deleted`);
    if (result.status === 'missing') throw new NotFoundError(`${type}/${id} is not known`);
    return sendResource(reply, result.resource);
  });

  app.get<{ Params: VersionParams }>('/:type/:id/_history/:vid', async (request, reply) => {
    const { type, id } = knownInstance(request.params);
    const { vid } = request.params;
    const version = VERSION_RE.test(vid) ? await store.readVersion(type, id, Number(vid)) : undefined;
    if (!version) throw new NotFoundError(`${type}/${id} has no version '${vid}'`);
    return sendResource(reply, version);
  });

  app.post<{ Params: TypeParams }>('/:type', async (request, reply) => {
    const type = knownType(request.params.type);
    const written = await store.create(resourceFromBody(request.body, type));
    return sendWrite(reply, written, baseUrl, parsePrefer(request.headers.prefer));
  });

  app.put<{ Params: InstanceParams }>('/:type/:id', async (request, reply) => {
    const type = knownType(request.params.type);
    const { id } = request.params;
    const resource = resourceFromBody(request.body, type, id);
    const ifMatch = parseIfMatch(request.headers['if-match']);
    let written: WriteResult;
    try {
      written = await store.update(resource, ifMatch === undefined ? {} : { ifMatch });
    } catch (error) {
      // The store reports an If-Match mismatch as a conflict; FHIR answers it 412 (R4 http.html#concurrency).
      if (ifMatch !== undefined && error instanceof ConflictError) {
        throw new PreconditionFailedError(error.message, { expression: 'If-Match', cause: error });
      }
      throw error;
    }
    return sendWrite(reply, written, baseUrl, parsePrefer(request.headers.prefer));
  });

  app.delete<{ Params: InstanceParams }>('/:type/:id', async (request, reply) => {
    const { type, id } = knownInstance(request.params);
    const tombstone = await store.delete(type, id);
    // R4 http.html#delete: deleting a missing or already deleted resource also succeeds.
    const text = tombstone ? `deleted ${type}/${id}` : `${type}/${id} did not exist; nothing to delete`;
    return reply.type(FHIR_JSON).send(JSON.stringify(operationOutcome('information', 'informational', text)));
  });

  refuseOtherMethods(app, '/:type', ['GET', 'POST']);
  refuseOtherMethods(app, '/:type/:id', ['GET', 'PUT', 'DELETE']);
  refuseOtherMethods(app, '/:type/:id/_history/:vid', ['GET']);
};

function sendResource(reply: FastifyReply, resource: StoredResource, status = 200): FastifyReply {
  return reply
    .status(status)
    .type(FHIR_JSON)
    .header('etag', formatEtag(resource.versionId))
    .header('last-modified', formatHttpDate(resource.lastUpdated))
    .send(resource.json);
}

/** Answer a create or update: 201 with Location when a resource was created, else 200 (R4 http.html#update). */
function sendWrite(
  reply: FastifyReply,
  written: WriteResult,
  baseUrl: string,
  prefer: Preferences,
): FastifyReply {
  const created = written.outcome === 'created';
  if (created) {
    reply.header('location', `${baseUrl}/${written.type}/${written.id}/_history/${written.versionId}`);
  }
  if (prefer.return === 'minimal' || prefer.return === 'OperationOutcome') {
    reply
      .status(created ? 201 : 200)
      .header('etag', formatEtag(written.versionId))
      .header('last-modified', formatHttpDate(written.lastUpdated));
    if (prefer.return === 'minimal') return reply.send();
    const text = `${written.outcome} ${written.type}/${written.id} at version ${written.versionId}`;
    return reply.type(FHIR_JSON).send(JSON.stringify(operationOutcome('information', 'informational', text)));
  }
  return sendResource(reply, written, created ? 201 : 200);
}
