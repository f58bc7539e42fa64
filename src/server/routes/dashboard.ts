import { readFileSync } from 'node:fs';
import type { ExportMonitor, ExportService } from '../../export/index.js';
import { ForbiddenError } from '../../fhir/index.js';
import type { RoutePlugin } from '../context.js';
import { dashboardEnabled, dashboardOperator } from '../dashboard-access.js';
import type { DashboardAccess } from '../dashboard-access.js';

/** What the health panel shows of the server itself. */
export interface DashboardHealth {
  /** Export worker threads running in this process (0: `fhirhose worker` processes run the units). */
  workerThreads: number;
  /** The export file storage, as `describe()` words it (no credentials). */
  storage: string;
  database: 'SQLite' | 'PostgreSQL';
}

/** Dependencies of {@link dashboardRoutes}. */
export interface DashboardDeps {
  monitor: ExportMonitor;
  service: ExportService;
  access: DashboardAccess;
  /** Read at each overview request (threads may be restarted). */
  health: () => DashboardHealth;
  now?: () => number;
}

/** The dashboard's static files, in the package's `public/dashboard/` (no build step). */
const ASSETS = [
  { path: '/dashboard', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/dashboard/dashboard.js', file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  { path: '/dashboard/dashboard.css', file: 'dashboard.css', type: 'text/css; charset=utf-8' },
];
const ASSET_DIR = new URL('../../../../public/dashboard/', import.meta.url);
// The page runs its own script only and talks to this server only.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'";
/** Sent by the page's script: a cross-site form or image cannot set it, so it cannot cancel a job. */
export const DASHBOARD_HEADER = 'x-fhirhose-dashboard';

/**
 * `GET /dashboard` (a static page), `GET /dashboard/api/overview` (jobs, clients, health as JSON) and
 * `POST /dashboard/api/jobs/:id/cancel`. The API needs an operator (see {@link DashboardAccess}); with
 * no way in configured, nothing under `/dashboard` exists (404).
 */
export function dashboardRoutes(deps: DashboardDeps): RoutePlugin {
  const startedAt = (deps.now ?? Date.now)();
  const files = ASSETS.map((a) => ({ ...a, body: readFileSync(new URL(a.file, ASSET_DIR)) }));
  return async (app) => {
    if (!dashboardEnabled(deps.access)) return;
    for (const asset of files) {
      app.get(asset.path, async (_request, reply) =>
        reply
          .type(asset.type)
          .header('cache-control', 'no-cache')
          .header('content-security-policy', CSP)
          .header('x-frame-options', 'DENY')
          .send(asset.body),
      );
    }
    app.get('/dashboard/api/overview', async (request, reply) => {
      const operator = await dashboardOperator(request, deps.access);
      const snapshot = await deps.monitor.snapshot();
      const health = { ...deps.health(), startedAt, workersSeen: snapshot.workers.length };
      return reply.header('cache-control', 'no-store').send({ operator, health, ...snapshot });
    });
    app.post('/dashboard/api/jobs/:id/cancel', async (request, reply) => {
      const operator = await dashboardOperator(request, deps.access);
      if (request.headers[DASHBOARD_HEADER] !== '1') {
        throw new ForbiddenError(`cancel from the dashboard page (it sends ${DASHBOARD_HEADER}: 1)`);
      }
      const { id } = request.params as { id: string };
      await deps.service.cancelAsOperator(id, `dashboard: ${operator}`);
      deps.monitor.invalidate();
      return reply.header('cache-control', 'no-store').send({ cancelled: id });
    });
  };
}
