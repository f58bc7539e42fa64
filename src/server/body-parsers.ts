import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { InvalidRequestError, UnsupportedMediaTypeError } from '../fhir/index.js';

const JSON_TYPES = ['application/fhir+json', 'application/json'];
const FORM_TYPE = 'application/x-www-form-urlencoded';
// Methods whose body carries the request (a resource, Parameters, a search form): an empty JSON body
// there is a mistake worth naming. A DELETE needs no body, even from a client that always sends
// Content-Type: application/fhir+json.
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Replace fastify's parsers: FHIR JSON and JSON parse to `unknown`, forms to URLSearchParams. An
 * empty JSON body is a 400 on POST, PUT and PATCH, and no body on other methods (a DELETE).
 * Any other media type is left unparsed, so fastify answers it with a 415 (FST_ERR_CTP_INVALID_MEDIA_TYPE).
 * JSON is read as bytes, so that invalid UTF-8 is refused (as `fhirhose load` refuses such a line)
 * rather than decoded to U+FFFD and stored.
 */
export function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) {
      done(new InvalidRequestError('request body is not valid UTF-8 (FHIR JSON is UTF-8)'), undefined);
      return;
    }
    const text = bytes.toString('utf8');
    if (text.trim() === '') {
      // No body at all, as if no Content-Type had been sent.
      if (!BODY_METHODS.has(request.method)) done(null, undefined);
      else done(new InvalidRequestError('request body is empty'), undefined);
      return;
    }
    try {
      done(null, JSON.parse(text) as unknown);
    } catch (error) {
      done(new InvalidRequestError('request body is not valid JSON', { cause: error }), undefined);
    }
  });
  app.addContentTypeParser(FORM_TYPE, { parseAs: 'string' }, (_request, body, done) => {
    done(null, new URLSearchParams(body as string));
  });
}

/**
 * The JSON body of a write, refusing form bodies (the only other media type we parse).
 * @throws UnsupportedMediaTypeError for a form body.
 */
export function jsonBody(body: unknown): unknown {
  if (body instanceof URLSearchParams) {
    throw new UnsupportedMediaTypeError(`send resources as application/fhir+json, not ${FORM_TYPE}`);
  }
  return body;
}

/**
 * The form body of a `_search` POST (empty when there is none).
 * @throws UnsupportedMediaTypeError for a JSON body: FHIR search bodies are forms (R4 http.html#search).
 */
export function formBody(body: unknown): URLSearchParams {
  if (body === undefined) return new URLSearchParams();
  if (body instanceof URLSearchParams) return body;
  throw new UnsupportedMediaTypeError(`POST _search takes ${FORM_TYPE}`);
}
