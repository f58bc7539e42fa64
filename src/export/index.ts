// The Bulk Data domain: kick-off parsing, planning, units, manifests and the job lifecycle.
export type * from './types.js';
export type * from './unit-spec.js';
export { CorruptJobError, JOB_SCHEMA_VERSION } from './job-codec.js';
export { parseKickoff } from './request-parser.js';
export { EXPORTABLE_TYPES } from './exportable.js';
export { ExportService } from './export-service.js';
export type { ExportServiceDeps, ExportStatus } from './export-service.js';
export type { ByteRange, OpenedFile, RangePicker } from './file-access.js';
export { DEFAULT_KICKOFF_LIMITS, KICKOFF_LIMIT_SETTINGS } from './limits.js';
export type { KickoffLimits } from './limits.js';
export { DEFAULT_EXPORT_CONFIG } from './config.js';
export type { ExportConfig, ExportReadPath } from './config.js';
export { ExportMonitor } from './export-monitor.js';
export type {
  ClientActivity,
  ClientInfo,
  ExportMonitorOptions,
  MonitorSnapshot,
  WorkerSeen,
} from './export-monitor.js';
export type {
  FileOverview,
  JobOverview,
  JobParameters,
  JobProgress,
  JobState,
  UnitOverview,
} from './job-overview.js';
export { WorkerPool } from './worker-pool.js';
export type { WorkerPoolOptions } from './worker-pool.js';
export { workLoop } from './work-loop.js';
export type { WorkLoopDeps } from './work-loop.js';
export type { Manifest, ManifestEntry } from './manifest.js';
export { authorizeExport } from './authorize.js';
export type { Caller, ReadAccess } from './authorize.js';
export { ViewExportService } from './view-export-service.js';
export type {
  ViewExportResult,
  ViewExportServiceDeps,
  ViewExportStatus,
  ViewOutput,
} from './view-export-service.js';
export type { ViewExportInput, ViewExportOptions, ViewExportView } from './view-request.js';
