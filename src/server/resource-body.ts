import type { FhirResource } from '../fhir/index.js';
import { InvalidRequestError, UnprocessableResourceError, isResource } from '../fhir/index.js';
import { jsonBody } from './body-parsers.js';

/**
 * The resource in a create or update body, checked against the URL (R4 http.html#create, #update).
 * A wrong or missing resourceType, or (for update) an id that does not equal the URL's, is a bad
 * request (400); a resource that breaks the JSON format rules is unprocessable (422).
 * @param body - the parsed request body
 * @param type - the resource type in the URL
 * @param id - the id in the URL, for update; create ignores any id in the body
 * @throws InvalidRequestError, UnprocessableResourceError, UnsupportedMediaTypeError
 */
export function resourceFromBody(body: unknown, type: string, id?: string): FhirResource {
  const value = jsonBody(body);
  if (!isResource(value)) {
    throw new InvalidRequestError(`the request body must be a ${type} resource with a resourceType`, {
      expression: 'resourceType',
    });
  }
  if (value.resourceType !== type) {
    throw new InvalidRequestError(
      `body resourceType '${value.resourceType}' does not match '${type}' in the URL`,
      {
        expression: 'resourceType',
      },
    );
  }
  // R4 http.html#update: an update body must carry the URL's id, else 400.
  if (id !== undefined && value.id !== id) {
    const got = typeof value.id === 'string' ? `'${value.id}'` : 'no id';
    throw new InvalidRequestError(`body has ${got} but the URL names id '${id}'`, {
      expression: `${type}.id`,
    });
  }
  checkJsonRules(value);
  return value;
}

/** R4 json.html: no null values, and `meta` is an object. */
function checkJsonRules(resource: FhirResource): void {
  for (const [key, v] of Object.entries(resource)) {
    if (v === null) {
      throw new UnprocessableResourceError(
        `${resource.resourceType}.${key} is null; FHIR JSON omits empty elements`,
        {
          expression: `${resource.resourceType}.${key}`,
        },
      );
    }
  }
  const meta: unknown = resource.meta;
  if (meta !== undefined && (typeof meta !== 'object' || Array.isArray(meta))) {
    throw new UnprocessableResourceError(`${resource.resourceType}.meta must be an object`, {
      expression: `${resource.resourceType}.meta`,
    });
  }
}
