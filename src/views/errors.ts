import { InvalidRequestError, UnprocessableResourceError } from '../fhir/index.js';

/**
 * A ViewDefinition is malformed: bad structure, a bad or duplicate name, a path that does not compile,
 * an undefined constant, unionAll branches that differ. `expression` names the element at fault, such
 * as `select[0].column[1].path`. A subclass of InvalidRequestError, so the HTTP layer answers 400.
 */
export class InvalidViewDefinitionError extends InvalidRequestError {
  static override code = 'FHIRHOSE_ERR_INVALID_VIEW';
}

/**
 * A valid ViewDefinition failed on one resource: a column without `collection: true` gave several
 * values, or a `where` path gave a non-boolean. Unprocessable, so the HTTP layer answers 422.
 */
export class ViewEvaluationError extends UnprocessableResourceError {
  static override code = 'FHIRHOSE_ERR_VIEW_EVALUATION';
}
