// The Bulk Data client library: discovery, SMART auth, kick-off, polling, verified downloads, resume.
// It imports nothing from the server, export, store, storage or auth layers (DESIGN.md).
export { BulkDataClient } from './bulk-client.js';
export type { BulkClientOptions } from './bulk-client.js';
export {
  BulkClientError,
  TokenRequestError,
  ExportFailedError,
  UrlExpiredError,
  VerificationError,
  StateFileError,
  CLIENT_ERROR_CLASSES,
} from './errors.js';
export type { OperationOutcomeBody, BulkClientErrorOptions } from './errors.js';
export type { ClientEvent, EventListener, FileRecord, FileResult, ManifestSection } from './events.js';
export { readServerErrors } from './error-outcomes.js';
export type { ServerErrors, ServerIssue } from './error-outcomes.js';
export { summarize } from './export-runner.js';
export type { ExportSummary, RunOptions } from './export-runner.js';
export { HttpSession } from './http.js';
export type { TokenProvider } from './http.js';
export { buildKickoff, parametersBody, queryString } from './kickoff.js';
export type { ExportParameters, KickoffLevel, KickoffRequest } from './kickoff.js';
export { fileIdentity, parseManifest } from './manifest.js';
export type { ManifestDocument, ManifestFile } from './manifest.js';
export { NdjsonVerifier, VERIFY_MODES } from './ndjson-verifier.js';
export type { LineExpectation, VerifyMode } from './ndjson-verifier.js';
export type { PolledPage } from './poller.js';
export { ProgressTracker } from './progress.js';
export type { ExportPhase, ProgressSnapshot } from './progress.js';
export { createReporter } from './reporter.js';
export type { Reporter, ReporterMode, ReporterOptions } from './reporter.js';
export { DEFAULT_SCOPE, SmartBackendAuth, StaticToken, algorithmOf, privateJwkFrom } from './smart-auth.js';
export type { SmartAuthOptions } from './smart-auth.js';
export { STATE_FILE, hasState, readState } from './state-file.js';
export type { ExportState } from './state-file.js';
export { DEFAULT_WAITS, backoff, parseRetryAfter, systemClock } from './waits.js';
export { serverTimingHoldMs } from './server-timing.js';
export type { Clock, WaitOptions } from './waits.js';
export { ViewClient } from './view-client.js';
export type { ViewRunCall } from './view-client.js';
export { viewExportBody } from './view-export.js';
export type {
  ExportedView,
  ViewExportRequest,
  ViewExportOutcome,
  ViewFile,
  ViewFormat,
} from './view-export.js';
