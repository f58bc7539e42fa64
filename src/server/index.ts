// The HTTP layer: the only folder that imports fastify. See README.md.
export { buildServer, REDACT_PATHS } from './app.js';
export type { BuildServerOptions } from './app.js';
export { buildCapabilityStatement } from './capability.js';
export type { CapabilityOperation, CapabilityOptions } from './capability.js';
export type { RouteContext, RoutePlugin } from './context.js';
export { FHIR_JSON, sendError, statusOf, toErrorResponse } from './error-handler.js';
export type { ErrorResponse, RequestFacts } from './error-handler.js';
export { refuseOtherMethods } from './routes/method-not-allowed.js';
export { exportCapability, exportPlugins } from './export-plugins.js';
export { authCapability, authPlugins } from './auth-plugins.js';
export { grantOf } from './request-grant.js';
export { dashboardRoutes, DASHBOARD_HEADER } from './routes/dashboard.js';
export type { DashboardDeps, DashboardHealth } from './routes/dashboard.js';
export { dashboardEnabled } from './dashboard-access.js';
export type { DashboardAccess } from './dashboard-access.js';
export { viewPlugins, withViewCapability } from './view-plugins.js';
export { VIEW_RUN_CANONICAL } from './routes/view-run.js';
