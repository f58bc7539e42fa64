import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../auth/index.js';
import type { OAuthErrorCode } from '../auth/index.js';
import {
  AuthenticationError,
  ConflictError,
  FhirhoseError,
  ForbiddenError,
  GoneError,
  InvalidRequestError,
  LimitExceededError,
  MethodNotAllowedError,
  NestingTooDeepError,
  NotFoundError,
  NotSupportedError,
  PreconditionFailedError,
  StorageError,
  StoreError,
  TooManyRequestsError,
  UnprocessableResourceError,
  UnsupportedMediaTypeError,
  operationOutcome,
} from '../fhir/index.js';
import type { OperationOutcome } from '../fhir/index.js';

/** The media type of every FHIR JSON response. */
export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

type ErrorClass = abstract new (...args: never[]) => FhirhoseError;

/**
 * The one table from error to HTTP status (STYLE.md "Errors"): domain error classes here, and below it
 * the token endpoint's OAuthError by its RFC 6749 code. StoreError and StorageError answer 503 instead
 * when they are retryable. Read both through {@link statusOf}.
 */
const STATUS_BY_CLASS = new Map<ErrorClass, number>([
  [InvalidRequestError, 400],
  [UnprocessableResourceError, 422],
  [NestingTooDeepError, 400],
  [UnsupportedMediaTypeError, 415],
  [LimitExceededError, 400],
  [NotSupportedError, 400],
  [MethodNotAllowedError, 405],
  [NotFoundError, 404],
  [GoneError, 410],
  [AuthenticationError, 401],
  [ForbiddenError, 403],
  [TooManyRequestsError, 429],
  [ConflictError, 409],
  // FHIR R4 http.html#concurrency: a version mismatch on If-Match is 412 Precondition Failed.
  [PreconditionFailedError, 412],
  [StoreError, 500],
  [StorageError, 500],
]);

/**
 * The rest of the one table: the token endpoint's errors (RFC 6749 §5.2) are 400, except 401 for a
 * client that failed to authenticate, which then also carries WWW-Authenticate (RFC 9110 §15.5.2).
 */
const STATUS_BY_OAUTH_ERROR: Readonly<Record<OAuthErrorCode, number>> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
};

/** FHIR issue codes for the fastify errors that reach us, by fastify's own status. */
const ISSUE_BY_FRAMEWORK_STATUS = new Map<number, string>([
  [404, 'not-found'],
  [405, 'not-supported'],
  [413, 'too-long'],
  [415, 'not-supported'],
]);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The setting that sets the route's `bodyLimit`, named when a body is refused as too large. */
    bodyLimitSetting?: string;
  }
}

/** What the diagnostics of a framework error may take from its request. */
export interface RequestFacts {
  /** The request's Content-Length, in bytes, when it sent a valid one. */
  contentLength?: number;
  /** The route's body limit in bytes, and the setting that sets it, if any does. */
  bodyLimit?: { bytes: number; setting?: string };
}

/** Clearer diagnostics than fastify's for the framework errors clients meet most. */
const FRAMEWORK_MESSAGES = new Map<string, (facts: RequestFacts) => string>([
  [
    'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    () =>
      'unsupported request media type: send application/fhir+json, or application/x-www-form-urlencoded to _search',
  ],
  ['FST_ERR_CTP_BODY_TOO_LARGE', bodyTooLargeText],
]);

/** Names the limit and the body's size, as the kick-off limits do (docs/export.md). */
function bodyTooLargeText({ contentLength, bodyLimit }: RequestFacts): string {
  if (bodyLimit === undefined) return 'request body is too large';
  const { bytes, setting } = bodyLimit;
  // A chunked body has no Content-Length: fastify stops reading it once it passes the limit.
  const size =
    contentLength !== undefined && contentLength > bytes ? `${contentLength}` : `more than ${bytes}`;
  return `request body has ${size} bytes; the limit is ${bytes} bytes${setting ? ` (${setting})` : ''}`;
}

/** How one error is answered: status, extra headers, and the outcome. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  outcome: OperationOutcome;
}

/** The HTTP status for an error; undefined for a domain error class missing from the table. */
export function statusOf(error: OAuthError): number;
export function statusOf(error: FhirhoseError | OAuthError): number | undefined;
export function statusOf(error: FhirhoseError | OAuthError): number | undefined {
  if (error instanceof OAuthError) return STATUS_BY_OAUTH_ERROR[error.error];
  if ((error instanceof StoreError || error instanceof StorageError) && error.retryable) return 503;
  for (
    let proto: unknown = Object.getPrototypeOf(error);
    proto !== null;
    proto = Object.getPrototypeOf(proto)
  ) {
    const status = STATUS_BY_CLASS.get((proto as { constructor: ErrorClass }).constructor);
    if (status !== undefined) return status;
  }
  return undefined;
}

/**
 * Map any thrown value to a response. 5xx outcomes carry only a generic text and the request id.
 * @param facts - what the request says of itself, for the diagnostics of framework errors
 */
export function toErrorResponse(error: unknown, requestId: string, facts: RequestFacts = {}): ErrorResponse {
  const status = statusFor(error);
  const headers: Record<string, string> = {};
  if (status >= 500) {
    const text = `internal server error; quote request id ${requestId} when reporting it`;
    const code = status === 503 ? 'transient' : 'exception';
    return { status, headers, outcome: operationOutcome('error', code, text) };
  }
  if (error instanceof AuthenticationError) headers['www-authenticate'] = 'Bearer error="invalid_token"';
  if (error instanceof TooManyRequestsError) headers['retry-after'] = String(error.retryAfterSeconds);
  if (error instanceof FhirhoseError) {
    return {
      status,
      headers,
      outcome: operationOutcome('error', error.issueCode, error.message, error.expression),
    };
  }
  const code = ISSUE_BY_FRAMEWORK_STATUS.get(status) ?? 'invalid';
  const { code: fastifyCode, message } = error as FastifyError;
  const text = FRAMEWORK_MESSAGES.get(fastifyCode)?.(facts) ?? message;
  return { status, headers, outcome: operationOutcome('error', code, text) };
}

function statusFor(error: unknown): number {
  if (error instanceof FhirhoseError) return statusOf(error) ?? 500;
  if (isFrameworkClientError(error)) return error.statusCode;
  return 500;
}

/** Fastify's own 4xx errors (validation, body too large, bad media type) keep their status. */
function isFrameworkClientError(error: unknown): error is FastifyError & { statusCode: number } {
  if (!(error instanceof Error)) return false;
  const { code, statusCode } = error as Partial<FastifyError>;
  return (
    typeof code === 'string' &&
    code.startsWith('FST_') &&
    typeof statusCode === 'number' &&
    statusCode >= 400 &&
    statusCode < 500
  );
}

/** Send an error as an OperationOutcome, logging 4xx at info and 5xx (with details) at error. */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, headers, outcome } = toErrorResponse(error, request.id, requestFacts(error, request));
  if (status >= 500) {
    request.log.error({ err: error, statusCode: status }, 'request failed');
  } else {
    // Diagnostics can echo search values, so only the code and the parameter name are logged.
    const { code, expression } = error as { code?: unknown; expression?: unknown };
    request.log.info({ code, expression, statusCode: status }, 'request rejected');
  }
  return reply.status(status).headers(headers).type(FHIR_JSON).send(JSON.stringify(outcome));
}

/** The JSON media type of every token endpoint answer. */
const OAUTH_JSON = 'application/json; charset=utf-8';

/**
 * Send any error of the token endpoint as RFC 6749 §5.2 JSON (`{error, error_description}`) with
 * `Cache-Control: no-store` (§5.1), never an OperationOutcome: an OAuthError with its own status, a
 * method not allowed as 405, anything else a client sent wrong (no body, a body that is not a form, a
 * body too large) as 400 `invalid_request`, and a failure of ours as 500 `server_error`.
 */
export function sendOAuthError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache').type(OAUTH_JSON);
  if (error instanceof OAuthError) {
    request.log.info({ oauthError: error.error, reason: error.message }, 'token request refused');
    if (error.error === 'invalid_client') reply.header('www-authenticate', 'Bearer error="invalid_client"');
    return reply
      .status(statusOf(error))
      .send(JSON.stringify({ error: error.error, error_description: error.message }));
  }
  const { status, outcome } = toErrorResponse(error, request.id, requestFacts(error, request));
  const description = outcome.issue[0]?.diagnostics ?? '';
  if (status >= 500) {
    request.log.error({ err: error, statusCode: status }, 'token request failed');
    return reply.status(500).send(JSON.stringify({ error: 'server_error', error_description: description }));
  }
  request.log.info({ code: (error as { code?: unknown }).code, statusCode: status }, 'token request refused');
  return reply
    .status(status === 405 ? 405 : 400)
    .send(JSON.stringify({ error: 'invalid_request', error_description: description }));
}

/** The facts a body-too-large error names; none for other errors (framework errors may have no route). */
function requestFacts(error: unknown, request: FastifyRequest): RequestFacts {
  if ((error as Partial<FastifyError> | undefined)?.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') return {};
  const { bodyLimit, config } = request.routeOptions;
  const length = Number(request.headers['content-length']);
  return {
    ...(Number.isSafeInteger(length) ? { contentLength: length } : {}),
    bodyLimit: { bytes: bodyLimit, ...(config.bodyLimitSetting ? { setting: config.bodyLimitSetting } : {}) },
  };
}

/** Install the error handler, the not-found handler and the framework-error hook on a root instance. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new NotFoundError(`no route for ${request.method} ${request.url.split('?')[0]}`),
      request,
      reply,
    ),
  );
}

/** Fastify's `frameworkErrors` option: errors raised before routing (bad URL, bad header). */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  // These errors skip the onRequest hooks, so the request id is echoed here.
  reply.header('x-request-id', request.id);
  void sendError(error, request, reply);
}

/**
 * The most bytes the request line and headers of one request may have: Node's default, set explicitly
 * so that the answer to a longer request can name it.
 */
export const MAX_HEADER_BYTES = 16 * 1024;

/** Connection-level errors Node's HTTP parser raises before any request exists, by their code. */
const CLIENT_ERRORS = new Map<string, { status: number; code: string; text: string }>([
  [
    'HPE_HEADER_OVERFLOW',
    {
      status: 431,
      code: 'too-long',
      text: `the request line and headers are longer than ${MAX_HEADER_BYTES} bytes; send long parameters in a POST body`,
    },
  ],
  [
    'ERR_HTTP_REQUEST_TIMEOUT',
    { status: 408, code: 'timeout', text: 'the request was not received in time' },
  ],
]);
const MALFORMED = { status: 400, code: 'invalid', text: 'the request is not valid HTTP/1.1' };

/**
 * Fastify's `clientErrorHandler`, for requests Node refuses before routing (a request line or headers
 * over {@link MAX_HEADER_BYTES}, malformed HTTP, a timeout): answers with an OperationOutcome like
 * every other error, written on the socket as a complete HTTP/1.1 response, then closes the connection.
 */
export function clientErrorHandler(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  // A reset connection has nobody to answer (Node http "clientError" event).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, code, text } = CLIENT_ERRORS.get(error.code) ?? MALFORMED;
  this.log.info({ code: error.code, statusCode: status }, 'request refused by the HTTP parser');
  const body = JSON.stringify(operationOutcome('error', code, text));
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    `Content-Type: ${FHIR_JSON}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  // end() rather than write() then destroy(): destroying with unread request bytes in the receive
  // buffer makes the kernel send a reset, which can reach the client before the response does.
  if (socket.writable) socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  else socket.destroy(error);
}
