import { InvalidRequestError } from '../fhir/index.js';
import type { SearchQuery } from './types.js';

/**
 * Refuse the search fields a type has no index or JSON rule for, the same way on every backend: `name`
 * on Group and ViewDefinition, `identifier` on Group, `url` and `status` on ViewDefinition.
 * @throws InvalidRequestError naming the first field the type cannot answer
 */
export function checkSearchFields(q: SearchQuery): void {
  const allowed: Record<string, readonly string[]> = {
    name: ['Group', 'ViewDefinition'],
    identifier: ['Group'],
    url: ['ViewDefinition'],
    status: ['ViewDefinition'],
  };
  for (const [field, types] of Object.entries(allowed)) {
    if (q[field as keyof SearchQuery] !== undefined && !types.includes(q.type)) {
      throw new InvalidRequestError(`${field} search is supported on ${types.join(' and ')} only`, {
        expression: field,
      });
    }
  }
}
