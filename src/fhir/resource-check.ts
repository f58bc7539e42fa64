import { InvalidRequestError, NestingTooDeepError, UnprocessableResourceError } from './errors.js';
import { isStoredType } from './resource-types.js';
import { isResource, isValidId } from './resource.js';
import type { FhirResource } from './resource.js';

/**
 * The deepest nesting of objects and arrays a resource may have, the resource itself being level 1.
 * R4 resources need far fewer: a Questionnaire with items nested 20 deep is about 45 levels. The
 * limit keeps the code that walks a resource by recursion (serializing it, finding references,
 * FHIRPath) far from the end of the stack, which 5,000 levels reached.
 */
export const MAX_RESOURCE_DEPTH = 100;

/** How `checkResource` treats the resource's `id`. */
export interface ResourceRules {
  /**
   * `required`: a valid FHIR id (update, NDJSON lines). `ignored`: the server assigns one (create,
   * Bundle entries without a valid id).
   */
  id: 'required' | 'ignored';
}

/**
 * The one check of a resource about to be stored, shared by REST create and update and by `fhirhose
 * load`, so that the same JSON gets the same verdict on both paths: a JSON object with a known R4
 * resourceType (or ViewDefinition, see `isStoredType`), a valid id when `rules` require one, at most MAX_RESOURCE_DEPTH levels deep, no
 * property that is null anywhere (R4 json.html: empty elements are left out; null appears only inside
 * arrays of primitives), and a `meta` that is an object. Depth is checked without recursion, before
 * anything that recurses.
 * @param value - parsed JSON
 * @param rules - what is required of the id
 * @returns `value`, as a resource
 * @throws InvalidRequestError for no resourceType, an unknown one, or a missing or invalid id;
 *   NestingTooDeepError; UnprocessableResourceError for a null property or a `meta` that is no object
 */
export function checkResource(value: unknown, rules: ResourceRules): FhirResource {
  if (!isResource(value)) {
    throw new InvalidRequestError('not a FHIR resource: a JSON object with a resourceType', {
      expression: 'resourceType',
    });
  }
  const type = value.resourceType;
  if (!isStoredType(type)) {
    throw new InvalidRequestError(`unknown resourceType '${type}'`, { expression: 'resourceType' });
  }
  if (rules.id === 'required' && !isValidId(value.id)) {
    throw new InvalidRequestError(`${type} has no valid id`, { expression: `${type}.id` });
  }
  if (hasNullProperty(value, type)) {
    // Bounded recursion from here: the walk above found no deeper nesting than the limit.
    const path = nullPath(value, type) ?? type;
    throw new UnprocessableResourceError(`${path} is null; FHIR JSON omits empty elements`, {
      expression: path,
    });
  }
  const meta: unknown = value.meta;
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) {
    throw new UnprocessableResourceError(`${type}.meta must be an object`, { expression: `${type}.meta` });
  }
  return value;
}

/**
 * Walk the tree a level at a time (no recursion, one array per level, which measured cheaper than a
 * stack of nodes with their depths): whether an object has a null property.
 * @throws NestingTooDeepError past MAX_RESOURCE_DEPTH
 */
function hasNullProperty(root: object, type: string): boolean {
  let level: object[] = [root];
  let next: object[] = [];
  let found = false;
  for (let depth = 1; level.length > 0; depth++) {
    if (depth > MAX_RESOURCE_DEPTH) {
      throw new NestingTooDeepError(`${type} is nested more than ${MAX_RESOURCE_DEPTH} levels deep`, {
        expression: type,
      });
    }
    for (const node of level) {
      if (Array.isArray(node)) {
        for (const item of node as unknown[]) if (typeof item === 'object' && item !== null) next.push(item);
        continue;
      }
      for (const key in node) {
        const item = (node as Record<string, unknown>)[key];
        if (typeof item !== 'object') continue;
        if (item === null) found = true;
        else next.push(item);
      }
    }
    const done = level;
    level = next;
    next = done;
    next.length = 0;
  }
  return found;
}

/** The FHIRPath of the first null property (`Patient.name[0].given`), or undefined. */
function nullPath(node: object, path: string): string | undefined {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const item: unknown = node[i];
      const found = typeof item === 'object' && item !== null ? nullPath(item, `${path}[${i}]`) : undefined;
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key in node) {
    const item = (node as Record<string, unknown>)[key];
    if (item === null) return `${path}.${key}`;
    const found = typeof item === 'object' ? nullPath(item as object, `${path}.${key}`) : undefined;
    if (found !== undefined) return found;
  }
  return undefined;
}
