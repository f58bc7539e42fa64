import { r4Model } from '../fhir/index.js';

/**
 * Where a focus sits in the R4 model: `element` is its element path as fhirpath.js names it
 * (`Patient.contact.name`), `type` the path its children are looked up under (`HumanName`).
 * `primitive` foci have no children the fast path can reach.
 */
export interface ModelPath {
  /** Undefined below a choice element read through `ofType`, whose element path we do not name. */
  element: string | undefined;
  type: string;
  primitive: boolean;
}

/** The model path of a resource root. */
export function rootPath(resourceType: string): ModelPath {
  return { element: resourceType, type: resourceType, primitive: false };
}

function lookup(
  type: string,
  member: string,
  choices = false,
): { path: string; type: string; moved: boolean; choice?: string[] } | undefined {
  const model = r4Model();
  for (let t: string | undefined = type; t !== undefined; t = model.type2Parent[t]) {
    const direct: string = `${t}.${member}`;
    const path = model.pathsDefinedElsewhere[direct] ?? direct;
    const choice = model.choiceTypePaths[path];
    if (choice) return choices ? { path, type: '', moved: false, choice } : undefined;
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
  const element = found.moved
    ? found.path
    : from.element === undefined
      ? undefined
      : `${from.element}.${member}`;
  if (found.type === 'BackboneElement' || found.type === 'Element') {
    return { element, type: found.path, primitive: false };
  }
  const primitive = found.type.startsWith('System.') || /^[a-z]/.test(found.type);
  return { element, type: found.type, primitive };
}

/**
 * The model path of choice element `member` read as `type` (`value` + `Quantity` is `valueQuantity`),
 * or undefined when `member` is not a choice element that allows `type`.
 */
export function choicePath(from: ModelPath, member: string, type: string): ModelPath | undefined {
  if (from.primitive) return undefined;
  const found = lookup(from.type, member, true);
  const wanted = type.charAt(0).toUpperCase() + type.slice(1);
  if (!found?.choice?.includes(wanted)) return undefined;
  // fhirpath.js's ofType(string) also returns valueCode, ofType(Quantity) valueAge: refuse those.
  if (found.choice.some((other) => other !== wanted && derivesFrom(other, wanted))) return undefined;
  return { element: undefined, type: wanted, primitive: /^[a-z]/.test(type) };
}

/** The model path of `extension(url)` items under `from`. */
export function extensionPath(from: ModelPath): ModelPath | undefined {
  if (from.primitive) return undefined;
  return {
    element: from.element === undefined ? undefined : `${from.element}.extension`,
    type: 'Extension',
    primitive: false,
  };
}

function derivesFrom(type: string, ancestor: string): boolean {
  const parents = r4Model().type2Parent;
  const lower = (t: string): string => t.charAt(0).toLowerCase() + t.slice(1);
  for (let t: string | undefined = type; t !== undefined; t = parents[t] ?? parents[lower(t)]) {
    if (t !== type && t.toLowerCase() === ancestor.toLowerCase()) return true;
  }
  return false;
}
