import { r4Model } from '../fhir/index.js';

/**
 * Where a focus sits in the R4 model: `element` is its element path as fhirpath.js names it
 * (`Patient.contact.name`), `type` the path its children are looked up under (`HumanName`).
 * `primitive` foci have no children the fast path can reach.
 */
export interface ModelPath {
  element: string;
  type: string;
  primitive: boolean;
}

/** The model path of a resource root. */
export function rootPath(resourceType: string): ModelPath {
  return { element: resourceType, type: resourceType, primitive: false };
}

function lookup(type: string, member: string): { path: string; type: string; moved: boolean } | undefined {
  const model = r4Model();
  for (let t: string | undefined = type; t !== undefined; t = model.type2Parent[t]) {
    const direct: string = `${t}.${member}`;
    const path = model.pathsDefinedElsewhere[direct] ?? direct;
    if (model.choiceTypePaths[path]) return undefined;
    const found = model.path2Type[path];
    if (found !== undefined) return { path, type: found, moved: path !== direct };
    if (t.includes('.')) return undefined;
  }
  return undefined;
}

/**
 * The model path of `member` under `from`, or undefined when the fast path must not go there: a
 * choice element (`value` needs fhirpath.js's `valueQuantity` lookup), a primitive's child, or a
 * member the model does not know.
 */
export function childPath(from: ModelPath, member: string): ModelPath | undefined {
  if (from.primitive) return undefined;
  const found = lookup(from.type, member);
  if (!found) return undefined;
  const element = found.moved ? found.path : `${from.element}.${member}`;
  if (found.type === 'BackboneElement' || found.type === 'Element') {
    return { element, type: found.path, primitive: false };
  }
  const primitive = found.type.startsWith('System.') || /^[a-z]/.test(found.type);
  return { element, type: found.type, primitive };
}
