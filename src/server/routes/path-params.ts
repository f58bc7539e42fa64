import { NotFoundError, isStoredType, isValidId } from '../../fhir/index.js';

/** Route params of a type-level path. */
export interface TypeParams {
  type: string;
}

/** Route params of an instance-level path. */
export interface InstanceParams extends TypeParams {
  id: string;
}

/**
 * The URL's resource type.
 * @throws NotFoundError when it is neither an R4 resource type nor ViewDefinition: there is no such endpoint.
 */
export function knownType(type: string): string {
  if (!isStoredType(type)) throw new NotFoundError(`unknown resource type '${type}'`);
  return type;
}

/**
 * The URL's type and id.
 * @throws NotFoundError for an unknown type, or an id that is not a valid FHIR id and so cannot exist.
 */
export function knownInstance(params: InstanceParams): InstanceParams {
  const type = knownType(params.type);
  if (!isValidId(params.id)) throw new NotFoundError(`'${params.id}' is not a valid ${type} id`);
  return { type, id: params.id };
}
