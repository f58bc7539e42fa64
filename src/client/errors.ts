/**
 * The client's own errors (STYLE.md "Errors"): it reads statuses from responses and keeps them as data,
 * as undici's ResponseStatusCodeError does. Each class has a stable `code` on the class and the instance.
 */

/** A FHIR OperationOutcome as the client reads it: only the fields it uses are typed. */
export interface OperationOutcomeBody {
  resourceType: 'OperationOutcome';
  issue: { severity?: string; code?: string; diagnostics?: string; details?: { text?: string } }[];
}

/** Details of a failed HTTP exchange. */
export interface BulkClientErrorOptions {
  status?: number;
  url?: string;
  outcome?: OperationOutcomeBody;
  /** The server's Retry-After, in milliseconds from when the answer arrived. */
  retryAfter?: number;
  cause?: unknown;
}

/** A request to a Bulk Data server failed: a status the client cannot continue from, or a network error. */
export class BulkClientError extends Error {
  static code = 'FHIRHOSE_ERR_CLIENT_HTTP';
  code: string;
  readonly status: number | undefined;
  readonly url: string | undefined;
  readonly outcome: OperationOutcomeBody | undefined;
  readonly retryAfter: number | undefined;

  constructor(message: string, options: BulkClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = (new.target as unknown as { code: string }).code;
    this.status = options.status;
    this.url = options.url;
    this.outcome = options.outcome;
    this.retryAfter = options.retryAfter;
  }
}

/** The token endpoint refused the client assertion, or discovery found no token endpoint. */
export class TokenRequestError extends BulkClientError {
  static override code = 'FHIRHOSE_ERR_CLIENT_TOKEN';
}

/** The export job failed on the server (an error status, or an OperationOutcome that is not transient). */
export class ExportFailedError extends BulkClientError {
  static override code = 'FHIRHOSE_ERR_CLIENT_EXPORT_FAILED';
}

/**
 * A file URL kept being refused as expired (401 without a token, 403, 404 or 410) after the client re-fetched
 * the manifest as many times as a run allows, or the re-fetched manifest no longer lists the file (IG F5).
 */
export class UrlExpiredError extends BulkClientError {
  static override code = 'FHIRHOSE_ERR_CLIENT_URL_EXPIRED';
}

/** A downloaded file is not what the manifest promised: a bad line, a wrong resourceType, or a wrong count. */
export class VerificationError extends Error {
  static code = 'FHIRHOSE_ERR_CLIENT_VERIFY';
  code: string;
  /** 1-based line number, when one line is at fault. */
  readonly line: number | undefined;

  constructor(message: string, options: { line?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = (new.target as unknown as { code: string }).code;
    this.line = options.line;
  }
}

/** The state file of an output folder is missing, unreadable, or belongs to another export. */
export class StateFileError extends Error {
  static code = 'FHIRHOSE_ERR_CLIENT_STATE';
  code: string;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = (new.target as unknown as { code: string }).code;
  }
}

/** Every client error class, for docs and tests. */
export const CLIENT_ERROR_CLASSES = [
  BulkClientError,
  TokenRequestError,
  ExportFailedError,
  UrlExpiredError,
  VerificationError,
  StateFileError,
] as const;

const TRANSIENT_ISSUES = new Set([
  'transient',
  'lock-error',
  'no-store',
  'exception',
  'timeout',
  'incomplete',
  'throttled',
]);

/** True when every issue of the outcome has a transient code (IG §4: "retry later"). */
export function isTransientOutcome(outcome: OperationOutcomeBody | undefined): boolean {
  if (!outcome || outcome.issue.length === 0) return false;
  return outcome.issue.every((i) => i.code !== undefined && TRANSIENT_ISSUES.has(i.code));
}

/** Parse a response body as an OperationOutcome; undefined when it is not one. */
export function parseOutcome(text: string): OperationOutcomeBody | undefined {
  if (text === '') return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (
      typeof value === 'object' &&
      value !== null &&
      (value as { resourceType?: unknown }).resourceType === 'OperationOutcome' &&
      Array.isArray((value as { issue?: unknown }).issue)
    ) {
      return value as OperationOutcomeBody;
    }
  } catch {
    // Not JSON: the caller reports the status alone.
  }
  return undefined;
}

/** A short text for an outcome: the first issue's diagnostics or details. */
export function outcomeText(outcome: OperationOutcomeBody | undefined): string | undefined {
  const issue = outcome?.issue[0];
  return issue?.diagnostics ?? issue?.details?.text;
}
