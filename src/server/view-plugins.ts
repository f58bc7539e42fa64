import type { CapabilityOptions } from './capability.js';
import type { RoutePlugin } from './context.js';
import { viewExportRoutes } from './routes/view-export.js';
import type { ViewExportRouteOptions } from './routes/view-export.js';
import { VIEW_RUN_CANONICAL, viewRunRoutes } from './routes/view-run.js';
import { VIEW_EXPORT_CANONICAL } from './view-export-wire.js';

/** Options of the SQL on FHIR routes. */
export interface ViewPluginOptions {
  /** `$viewdefinition-export` on the job engine; absent, only `$viewdefinition-run` is served. */
  exports?: ViewExportRouteOptions;
}

/** The SQL on FHIR route plugins, for `buildServer({ plugins })`. */
export function viewPlugins(options: ViewPluginOptions = {}): RoutePlugin[] {
  return [viewRunRoutes(), ...(options.exports ? [viewExportRoutes(options.exports)] : [])];
}

/**
 * What the view operations accept, for CapabilityStatement.rest.operation.documentation: the spec asks
 * servers to state their formats and `viewReference` forms there (digest §4.1, §4.6).
 */
export const VIEW_RUN_DOCUMENTATION =
  'Formats (_format): json, ndjson, csv, parquet. viewResource inline, or viewReference to a stored ' +
  'ViewDefinition: relative ViewDefinition/[id] or canonical url|version (a bare url means its latest ' +
  'version); views are not fetched from other servers. Also at [base]/ViewDefinition/[id]/$viewdefinition-run ' +
  '(GET or POST). Stored ViewDefinitions support read, vread, create, update, delete and search by name, ' +
  'url (url|version) and status; scopes system/ViewDefinition.rs to read and .cud to write.';

/**
 * `capability` with `$viewdefinition-run` and `$viewdefinition-export` added to the system operations.
 * ViewDefinition is not an R4 resource type, so they are declared at system level and the REST
 * interactions of stored views are described in their documentation (spec digest §4.6).
 */
export function withViewCapability<T extends Omit<CapabilityOptions, 'baseUrl'>>(capability: T): T {
  const operations = [
    ...(capability.operations ?? []),
    { name: 'viewdefinition-run', definition: VIEW_RUN_CANONICAL, documentation: VIEW_RUN_DOCUMENTATION },
    {
      name: 'viewdefinition-export',
      definition: VIEW_EXPORT_CANONICAL,
      documentation: VIEW_RUN_DOCUMENTATION,
    },
  ];
  return { ...capability, operations };
}
