import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, InvalidRequestError, patientCompartmentRefs } from '../../fhir/index.js';
import type { FhirResource } from '../../fhir/index.js';
import { createEncoder, encodeRows, viewRowsFromResources, viewRowsFromStore } from '../../tables/index.js';
import { createViewRunner } from '../../views/index.js';
import type { ViewRow, ViewRunner } from '../../views/index.js';
import type { ResourceStore } from '../../store/index.js';
import type { RouteContext, RoutePlugin } from '../context.js';
import { grantOf } from '../request-grant.js';
import { resolveViewReference } from '../view-references.js';
import { parseViewRun, viewRunQuery } from '../view-run-parameters.js';
import type { ViewRunRequest, ViewSource } from '../view-run-parameters.js';
import { refuseOtherMethods } from './method-not-allowed.js';

/** The canonical URL of the operation (SQL on FHIR v2, master). */
export const VIEW_RUN_CANONICAL = 'http://sql-on-fhir.org/OperationDefinition/$viewdefinition-run';

const inCompartment = (resource: unknown, patientId: string): boolean =>
  typeof resource === 'object' &&
  resource !== null &&
  patientCompartmentRefs(resource as FhirResource).some((r) => r.patientId === patientId);

async function rowsOf(
  store: ResourceStore,
  runner: ViewRunner,
  run: ViewRunRequest,
): Promise<AsyncIterable<ViewRow>> {
  if (run.resources !== undefined) {
    const { patientId } = run;
    const chosen =
      patientId === undefined ? run.resources : run.resources.filter((r) => inCompartment(r, patientId));
    return viewRowsFromResources(runner, chosen, run.limit);
  }
  if (run.patientId !== undefined) {
    const found = await store.read('Patient', run.patientId);
    if (found.status !== 'found') {
      throw new InvalidRequestError(`Patient/${run.patientId} is not on this server`, {
        expression: 'patient',
      });
    }
  }
  const asOf = await store.tick();
  const patients = run.patientId === undefined ? undefined : [run.patientId];
  return viewRowsFromStore(store, runner, { asOf, limit: run.limit, ...(patients ? { patients } : {}) });
}

/**
 * The rows, with the first one already computed: a view that fails on the first resource is answered
 * with an OperationOutcome; one that fails later can only cut the response short.
 */
async function primed(rows: AsyncIterable<ViewRow>): Promise<AsyncIterable<ViewRow>> {
  const it = rows[Symbol.asyncIterator]();
  const first = await it.next();
  return (async function* () {
    // A client that goes away destroys the response, which returns this generator: pass that on so
    // the store scan underneath closes its cursor.
    try {
      if (first.done) return;
      yield first.value;
      for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
    } finally {
      await it.return?.();
    }
  })();
}

interface RunParams {
  id: string;
}

/** The view of a run: inline, by `viewReference`, or (instance level) the stored view the URL names. */
async function viewOf(ctx: RouteContext, request: FastifyRequest, run: ViewRunRequest): Promise<unknown> {
  const grant = grantOf(request);
  const caller = { baseUrl: ctx.baseUrl, ...(grant ? { access: grant.scopes } : {}) };
  const id = (request.params as Partial<RunParams>).id;
  if (id !== undefined) return resolveViewReference(ctx.store, `ViewDefinition/${id}`, caller);
  if (run.viewReference !== undefined) return resolveViewReference(ctx.store, run.viewReference, caller);
  return run.view;
}

function handler(ctx: RouteContext, source: ViewSource) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const body =
      request.method === 'GET' ? viewRunQuery(new URLSearchParams(queryOf(request.url))) : request.body;
    const run = parseViewRun(body, request.headers.accept, source);
    const runner = createViewRunner(await viewOf(ctx, request, run));
    const grant = grantOf(request);
    if (grant && !grant.scopes.canRead(runner.resource)) {
      throw new ForbiddenError(`the access token's scopes do not allow reading ${runner.resource}`, {
        expression: 'viewResource.resource',
      });
    }
    const encoder = createEncoder(run.format, runner.columns, { header: run.header });
    const rows = await primed(await rowsOf(ctx.store, runner, run));
    return reply.type(encoder.contentType).send(Readable.from(encodeRows(encoder, rows)));
  };
}

function queryOf(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at + 1);
}

/**
 * `$viewdefinition-run` (SQL on FHIR v2): POST a Parameters body with an inline view or a
 * `viewReference`; the rows come back directly in the chosen format, streamed. System level, the type
 * level the spec's run page shows, and the instance level of a stored view (POST, or GET with the
 * simple parameters in the query).
 */
export function viewRunRoutes(): RoutePlugin {
  return async (app, ctx) => {
    for (const url of ['/$viewdefinition-run', '/ViewDefinition/$viewdefinition-run']) {
      app.post(url, handler(ctx, 'body'));
      refuseOtherMethods(app, url, ['POST']);
    }
    const instance = '/ViewDefinition/:id/$viewdefinition-run';
    app.post<{ Params: RunParams }>(instance, handler(ctx, 'url'));
    app.get<{ Params: RunParams }>(instance, handler(ctx, 'url'));
    refuseOtherMethods(app, instance, ['GET', 'POST']);
  };
}
