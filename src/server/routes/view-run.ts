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
import { parseViewRun } from '../view-run-parameters.js';
import type { ViewRunRequest } from '../view-run-parameters.js';
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

function handler(ctx: RouteContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const run = parseViewRun(request.body, request.headers.accept);
    const runner = createViewRunner(run.view);
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

/**
 * `$viewdefinition-run` (SQL on FHIR v2): POST a Parameters body with an inline view; the rows come back
 * directly in the chosen format, streamed. System level, and the type level the spec's run page shows.
 */
export function viewRunRoutes(): RoutePlugin {
  return async (app, ctx) => {
    for (const url of ['/$viewdefinition-run', '/ViewDefinition/$viewdefinition-run']) {
      app.post(url, handler(ctx));
      refuseOtherMethods(app, url, ['POST']);
    }
  };
}
