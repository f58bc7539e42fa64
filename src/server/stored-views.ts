import { UnprocessableResourceError } from '../fhir/index.js';
import type { FhirResource } from '../fhir/index.js';
import { InvalidViewDefinitionError, createViewRunner } from '../views/index.js';

const STATUS = new Set(['draft', 'active', 'retired', 'unknown']);

/**
 * Check a ViewDefinition about to be stored as a runnable view would be: its structure, names and
 * every path compiled (src/views), and a `status` from the PublicationStatus codes when it has one.
 * A stored view that cannot run is refused at write, as FHIR refuses a resource that breaks its rules
 * (R4 http.html#update: 422), with the column or path at fault named in the OperationOutcome.
 * @param resource - a checked resource of type ViewDefinition
 * @throws UnprocessableResourceError naming the element at fault
 */
export function checkStoredView(resource: FhirResource): void {
  try {
    createViewRunner(resource);
  } catch (err) {
    if (!(err instanceof InvalidViewDefinitionError)) throw err;
    const where = err.expression === undefined ? '' : ` (at ${err.expression})`;
    throw new UnprocessableResourceError(`invalid ViewDefinition: ${err.message}${where}`, {
      ...(err.expression === undefined ? {} : { expression: err.expression }),
      cause: err,
    });
  }
  const status: unknown = resource.status;
  if (status !== undefined && (typeof status !== 'string' || !STATUS.has(status))) {
    throw new UnprocessableResourceError('ViewDefinition.status must be draft, active, retired or unknown', {
      expression: 'status',
    });
  }
}
