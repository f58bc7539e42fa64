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
 * `capability` with `$viewdefinition-run` and `$viewdefinition-export` added to the system operations.
 * ViewDefinition is not an R4 resource type, so they are declared at system level (spec digest §4.6).
 */
export function withViewCapability<T extends Omit<CapabilityOptions, 'baseUrl'>>(capability: T): T {
  const operations = [
    ...(capability.operations ?? []),
    { name: 'viewdefinition-run', definition: VIEW_RUN_CANONICAL },
    { name: 'viewdefinition-export', definition: VIEW_EXPORT_CANONICAL },
  ];
  return { ...capability, operations };
}
