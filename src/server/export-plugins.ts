import { DEFAULT_KICKOFF_LIMITS } from '../export/index.js';
import type { ExportService, KickoffLimits } from '../export/index.js';
import { NotFoundError, typeFilterSearchParams } from '../fhir/index.js';
import type { CapabilityOptions } from './capability.js';
import type { RoutePlugin } from './context.js';
import { FHIR_JSON } from './error-handler.js';
import { OPERATION_DEFINITIONS, operationCanonical } from './operation-definitions.js';
import { exportFileRoutes } from './routes/export-files.js';
import { exportKickoffRoutes } from './routes/export-kickoff.js';
import { exportStatusRoutes } from './routes/export-status.js';

const operationDefinitionRoutes: RoutePlugin = async (app) => {
  app.get('/OperationDefinition/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const def = OPERATION_DEFINITIONS[id];
    if (!def) throw new NotFoundError(`OperationDefinition/${id} not found`);
    return reply.type(FHIR_JSON).send(JSON.stringify(def));
  });
};

/**
 * Every Bulk Data route plugin, for `buildServer({ plugins })`.
 * @param limits - bounds on each kick-off; default DEFAULT_KICKOFF_LIMITS
 */
export function exportPlugins(
  service: ExportService,
  limits: KickoffLimits = DEFAULT_KICKOFF_LIMITS,
): RoutePlugin[] {
  return [
    exportKickoffRoutes(service, limits),
    exportStatusRoutes(service),
    exportFileRoutes(service),
    operationDefinitionRoutes,
  ];
}

/** CapabilityStatement parts that announce Bulk Data export (IG "Server Capability Documentation"). */
export function exportCapability(): Omit<CapabilityOptions, 'baseUrl'> {
  return {
    instantiates: ['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data'],
    operations: [{ name: 'export', definition: operationCanonical('export') }],
    extraSearchParams: (type) =>
      typeFilterSearchParams(type).map((p) => ({
        ...p,
        documentation: 'usable in the $export _typeFilter parameter only (not in REST search)',
      })),
    resourceOperations: {
      Patient: [{ name: 'export', definition: operationCanonical('patient-export') }],
      Group: [{ name: 'export', definition: operationCanonical('group-export') }],
    },
  };
}
