import type { FhirResource } from '../fhir/index.js';
import { InvalidRequestError, checkResource, isResource } from '../fhir/index.js';
import { jsonBody } from './body-parsers.js';
import { checkStoredView } from './stored-views.js';

/**
 * The resource in a create or update body, checked against the URL (R4 http.html#create, #update)
 * and by `checkResource`, the same check `fhirhose load` makes. A wrong or missing resourceType, an
 * update body whose id does not equal the URL's, or nesting past the depth limit is a bad request
 * (400); a resource that breaks the JSON format rules, or a ViewDefinition that cannot run, is
 * unprocessable (422).
 * @param body - the parsed request body
 * @param type - the resource type in the URL
 * @param id - the id in the URL, for update; create ignores any id in the body
 * @throws InvalidRequestError, NestingTooDeepError, UnprocessableResourceError, UnsupportedMediaTypeError
 */
export function resourceFromBody(body: unknown, type: string, id?: string): FhirResource {
  const value = jsonBody(body);
  if (isResource(value) && value.resourceType !== type) {
    throw new InvalidRequestError(
      `body resourceType '${value.resourceType}' does not match '${type}' in the URL`,
      { expression: 'resourceType' },
    );
  }
  // R4 http.html#update: an update body must carry the URL's id, else 400.
  if (isResource(value) && id !== undefined && value.id !== id) {
    const got = typeof value.id === 'string' ? `'${value.id}'` : 'no id';
    throw new InvalidRequestError(`body has ${got} but the URL names id '${id}'`, {
      expression: `${type}.id`,
    });
  }
  const resource = checkResource(value, { id: id === undefined ? 'ignored' : 'required' });
  if (type === 'ViewDefinition') checkStoredView(resource);
  return resource;
}
