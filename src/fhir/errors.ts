/**
 * The fhirhose error hierarchy. Every layer throws these; only src/server maps them to HTTP statuses.
 * Each class has a stable `code` (on the class and the instance) and a FHIR IssueType `issueCode`.
 */

/** FHIR OperationOutcome.issue.code values that our errors use. */
export type IssueType =
  | 'invalid'
  | 'not-supported'
  | 'not-found'
  | 'deleted'
  | 'security'
  | 'expired'
  | 'forbidden'
  | 'throttled'
  | 'conflict'
  | 'exception'
  | 'processing'
  | 'too-costly';

/** Options shared by every fhirhose error. */
export interface FhirhoseErrorOptions {
  /** The parameter or element at fault, as FHIRPath or a parameter name. */
  expression?: string;
  cause?: unknown;
}

/** Abstract base of every domain error. */
export abstract class FhirhoseError extends Error {
  static code = 'FHIRHOSE_ERR_GENERIC';
  code: string;
  abstract readonly issueCode: IssueType;
  readonly expression: string | undefined;

  constructor(message: string, options: FhirhoseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = (new.target as unknown as { code: string }).code;
    this.expression = options.expression;
  }
}

/** A request parameter or body is malformed (bad `_type`, `_since`, Parameters body...). */
export class InvalidRequestError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_INVALID_REQUEST';
  readonly issueCode = 'invalid' as const;
}

/** A resource failed validation (wrong shape, id mismatch): the HTTP layer answers 422 or 400. */
export class UnprocessableResourceError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_UNPROCESSABLE';
  readonly issueCode = 'processing' as const;
}

/**
 * A resource nested deeper than `MAX_RESOURCE_DEPTH` levels (`resource-check.ts`): refused before any
 * code that walks a resource by recursion runs out of stack.
 */
export class NestingTooDeepError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_NESTING_TOO_DEEP';
  readonly issueCode = 'too-costly' as const;
}

/** The request body uses a media type we do not read. */
export class UnsupportedMediaTypeError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_UNSUPPORTED_MEDIA_TYPE';
  readonly issueCode = 'not-supported' as const;
}

/** Options of {@link LimitExceededError}: which limit, its value, and what the request had. */
export interface LimitExceededOptions extends FhirhoseErrorOptions {
  /** The setting that sets the limit, such as `FHIRHOSE_MAX_TYPES`. */
  setting?: string;
  limit?: number;
  /** What the request had, in the limit's unit. */
  actual?: number;
}

/**
 * A request is valid but larger than a configured limit allows (too many `_typeFilter` values,
 * patients...): refused before any costly work, lenient handling or not.
 */
export class LimitExceededError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_LIMIT_EXCEEDED';
  readonly issueCode = 'too-costly' as const;
  readonly setting: string | undefined;
  readonly limit: number | undefined;
  readonly actual: number | undefined;
  constructor(message: string, options: LimitExceededOptions = {}) {
    super(message, options);
    this.setting = options.setting;
    this.limit = options.limit;
    this.actual = options.actual;
  }
}

/** A valid parameter or feature that fhirhose does not implement. */
export class NotSupportedError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_NOT_SUPPORTED';
  readonly issueCode = 'not-supported' as const;
}

/** The HTTP method is not allowed on this resource path. */
export class MethodNotAllowedError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_METHOD_NOT_ALLOWED';
  readonly issueCode = 'not-supported' as const;
}

/** An unknown resource, job or file, another client's job, or an expired file. */
export class NotFoundError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_NOT_FOUND';
  readonly issueCode = 'not-found' as const;
}

/** The resource existed and was deleted. */
export class GoneError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_GONE';
  readonly issueCode = 'deleted' as const;
}

/** A bad client assertion or access token. */
export class AuthenticationError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_AUTHENTICATION';
  readonly issueCode: 'security' | 'expired';
  constructor(message: string, options: FhirhoseErrorOptions & { expired?: boolean } = {}) {
    super(message, options);
    this.issueCode = options.expired ? 'expired' : 'security';
  }
}

/** The client's scopes do not cover the request. */
export class ForbiddenError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_FORBIDDEN';
  readonly issueCode = 'forbidden' as const;
}

/** Too many jobs, or polling faster than advertised. */
export class TooManyRequestsError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_TOO_MANY_REQUESTS';
  readonly issueCode = 'throttled' as const;
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number, options: FhirhoseErrorOptions = {}) {
    super(message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A state change that is not allowed now (version conflict, cancelling a finished job). */
export class ConflictError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_CONFLICT';
  readonly issueCode = 'conflict' as const;
}

/** A conditional write's precondition (If-Match version) does not hold. */
export class PreconditionFailedError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_PRECONDITION_FAILED';
  readonly issueCode = 'conflict' as const;
}

/** A database driver failure. */
export class StoreError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_STORE';
  readonly issueCode = 'exception' as const;
  readonly retryable: boolean;
  constructor(message: string, options: FhirhoseErrorOptions & { retryable?: boolean } = {}) {
    super(message, options);
    this.retryable = options.retryable ?? false;
  }
}

/** A file storage failure. */
export class StorageError extends FhirhoseError {
  static override code = 'FHIRHOSE_ERR_STORAGE';
  readonly issueCode = 'exception' as const;
  readonly retryable: boolean;
  constructor(message: string, options: FhirhoseErrorOptions & { retryable?: boolean } = {}) {
    super(message, options);
    this.retryable = options.retryable ?? false;
  }
}

/** Every concrete error class, for docs/errors.md checks and the HTTP status table. */
export const ERROR_CLASSES = [
  InvalidRequestError,
  UnprocessableResourceError,
  NestingTooDeepError,
  UnsupportedMediaTypeError,
  LimitExceededError,
  NotSupportedError,
  MethodNotAllowedError,
  NotFoundError,
  GoneError,
  AuthenticationError,
  ForbiddenError,
  TooManyRequestsError,
  ConflictError,
  PreconditionFailedError,
  StoreError,
  StorageError,
] as const;
