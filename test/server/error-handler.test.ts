import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthenticationError,
  ConflictError,
  ERROR_CLASSES,
  InvalidRequestError,
  LimitExceededError,
  NotFoundError,
  PreconditionFailedError,
  StorageError,
  StoreError,
  TooManyRequestsError,
} from '../../src/fhir/index.js';
import { OAuthError } from '../../src/auth/index.js';
import { statusOf, toErrorResponse } from '../../src/server/index.js';

const EXPECTED: Record<string, number> = {
  InvalidRequestError: 400,
  UnprocessableResourceError: 422,
  NestingTooDeepError: 400,
  UnsupportedMediaTypeError: 415,
  LimitExceededError: 400,
  NotSupportedError: 400,
  MethodNotAllowedError: 405,
  NotFoundError: 404,
  GoneError: 410,
  AuthenticationError: 401,
  ForbiddenError: 403,
  TooManyRequestsError: 429,
  ConflictError: 409,
  PreconditionFailedError: 412,
  StoreError: 500,
  StorageError: 500,
};

function instantiate(cls: (typeof ERROR_CLASSES)[number]): InstanceType<(typeof ERROR_CLASSES)[number]> {
  if (cls === TooManyRequestsError) return new TooManyRequestsError('slow down', 7);
  return new (cls as new (message: string) => InstanceType<typeof cls>)('boom');
}

describe('error status table', () => {
  test('maps every domain error class to its documented status', () => {
    for (const cls of ERROR_CLASSES) {
      assert.equal(statusOf(instantiate(cls)), EXPECTED[cls.name], cls.name);
    }
    assert.equal(Object.keys(EXPECTED).length, ERROR_CLASSES.length);
  });

  test('maps a subclass through its parent class', () => {
    class StaleError extends ConflictError {}
    assert.equal(statusOf(new StaleError('stale')), 409);
  });

  test('answers retryable store and storage errors with 503', () => {
    assert.equal(statusOf(new StoreError('busy', { retryable: true })), 503);
    assert.equal(statusOf(new StorageError('busy', { retryable: true })), 503);
  });

  test('maps each OAuth error code (RFC 6749 section 5.2): 401 for invalid_client, else 400', () => {
    const expected = {
      invalid_request: 400,
      invalid_client: 401,
      invalid_grant: 400,
      unauthorized_client: 400,
      unsupported_grant_type: 400,
      invalid_scope: 400,
    } as const;
    for (const [code, status] of Object.entries(expected)) {
      assert.equal(statusOf(new OAuthError(code as keyof typeof expected, 'no')), status, code);
    }
  });
});

describe('toErrorResponse', () => {
  test('puts the issue code, message and expression of a 4xx error in the outcome', () => {
    const res = toErrorResponse(new InvalidRequestError('bad _since', { expression: '_since' }), 'req-1');
    assert.equal(res.status, 400);
    assert.deepEqual(res.outcome, {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', diagnostics: 'bad _since', expression: ['_since'] }],
    });
  });

  test('hides 5xx details behind a generic text that quotes the request id', () => {
    const res = toErrorResponse(
      new StoreError('SQLITE_CORRUPT at /var/db', { cause: new Error('x') }),
      'req-42',
    );
    assert.equal(res.status, 500);
    const diagnostics = res.outcome.issue[0]?.diagnostics ?? '';
    assert.match(diagnostics, /req-42/);
    assert.doesNotMatch(diagnostics, /SQLITE|\/var\/db/);
    assert.equal(res.outcome.issue[0]?.code, 'exception');
  });

  test('treats an unknown thrown value as a 500', () => {
    const res = toErrorResponse(new TypeError('undefined is not a function'), 'r');
    assert.equal(res.status, 500);
    assert.doesNotMatch(res.outcome.issue[0]?.diagnostics ?? '', /undefined/);
  });

  test('adds WWW-Authenticate to authentication errors', () => {
    const res = toErrorResponse(new AuthenticationError('token expired', { expired: true }), 'r');
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
    assert.equal(res.outcome.issue[0]?.code, 'expired');
  });

  test('adds Retry-After to too-many-requests errors', () => {
    const res = toErrorResponse(new TooManyRequestsError('poll slower', 12), 'r');
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '12');
    assert.equal(res.outcome.issue[0]?.code, 'throttled');
  });

  test('answers a version mismatch with 412 and issue code conflict', () => {
    const res = toErrorResponse(new PreconditionFailedError('stale'), 'r');
    assert.equal(res.status, 412);
    assert.equal(res.outcome.issue[0]?.code, 'conflict');
  });

  test('keeps the status of fastify client errors', () => {
    const error = Object.assign(new Error('Request body is too large'), {
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      statusCode: 413,
    });
    const res = toErrorResponse(error, 'r');
    assert.equal(res.status, 413);
    assert.equal(res.outcome.issue[0]?.code, 'too-long');
  });

  test('names the size and the limit of a body that is too large, and the setting when there is one', () => {
    const error = Object.assign(new Error('Request body is too large'), {
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      statusCode: 413,
    });
    const bodyLimit = { bytes: 4096, setting: 'FHIRHOSE_MAX_KICKOFF_BODY_BYTES' };
    const texts = [
      toErrorResponse(error, 'r', { contentLength: 5000, bodyLimit }),
      toErrorResponse(error, 'r', { bodyLimit }),
      toErrorResponse(error, 'r', { contentLength: 5000, bodyLimit: { bytes: 4096 } }),
      toErrorResponse(error, 'r'),
    ].map((res) => res.outcome.issue[0]?.diagnostics);
    assert.deepEqual(texts, [
      'request body has 5000 bytes; the limit is 4096 bytes (FHIRHOSE_MAX_KICKOFF_BODY_BYTES)',
      'request body has more than 4096 bytes; the limit is 4096 bytes (FHIRHOSE_MAX_KICKOFF_BODY_BYTES)',
      'request body has 5000 bytes; the limit is 4096 bytes',
      'request body is too large',
    ]);
  });

  test('answers a limit exceeded with 400, issue code too-costly and the parameter', () => {
    const error = new LimitExceededError('_type has 201 entries; the limit is 200 (FHIRHOSE_MAX_TYPES)', {
      expression: '_type',
      setting: 'FHIRHOSE_MAX_TYPES',
      limit: 200,
      actual: 201,
    });
    const res = toErrorResponse(error, 'r');
    assert.equal(res.status, 400);
    assert.deepEqual(res.outcome.issue, [
      { severity: 'error', code: 'too-costly', diagnostics: error.message, expression: ['_type'] },
    ]);
  });

  test('answers a not-found error with issue code not-found', () => {
    const res = toErrorResponse(new NotFoundError('no job'), 'r');
    assert.equal(res.status, 404);
    assert.equal(res.outcome.issue[0]?.code, 'not-found');
  });
});
