import type { CapabilityOptions } from './capability.js';
import type { RoutePlugin } from './context.js';
import { VIEW_RUN_CANONICAL, viewRunRoutes } from './routes/view-run.js';

/** The SQL on FHIR route plugins, for `buildServer({ plugins })`. */
export function viewPlugins(): RoutePlugin[] {
  return [viewRunRoutes()];
}

/**
 * `capability` with `$viewdefinition-run` added to the system operations. ViewDefinition is not an R4
 * resource type, so the operation is declared at system level (spec digest §4.6).
 */
export function withViewCapability<T extends Omit<CapabilityOptions, 'baseUrl'>>(capability: T): T {
  const operations = [
    ...(capability.operations ?? []),
    { name: 'viewdefinition-run', definition: VIEW_RUN_CANONICAL },
  ];
  return { ...capability, operations };
}
