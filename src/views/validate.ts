import { isResourceType, r4Model } from '../fhir/index.js';
import { InvalidViewDefinitionError } from './errors.js';
import type { ViewDefinition } from './view-definition.js';

const SQL_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

function fail(message: string, where: string): never {
  throw new InvalidViewDefinitionError(message, { expression: where });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arrayOf(v: unknown, where: string, nonEmpty = false): unknown[] {
  if (v === undefined && !nonEmpty) return [];
  if (!Array.isArray(v)) return fail(`${where} must be an array`, where);
  if (nonEmpty && v.length === 0) fail(`${where} must not be empty`, where);
  return v;
}

function pathText(v: unknown, where: string): void {
  if (typeof v !== 'string' || v.trim() === '') fail(`${where} must be a FHIRPath string`, where);
}

function sqlName(v: unknown, where: string): void {
  if (typeof v !== 'string' || !SQL_NAME.test(v)) {
    fail(`${where} must be a name of letters, digits and _ starting with a letter`, where);
  }
}

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * A column type is a FHIR type name (`string`, `Quantity`), an element path of a backbone element
 * (`Observation.referenceRange`), or an absolute StructureDefinition URL; a core URL must name a type.
 */
function checkType(type: unknown, where: string): void {
  if (type === undefined) return;
  if (typeof type !== 'string') fail(`${where} must be a string`, where);
  const model = r4Model();
  const name = type.startsWith(CORE_PREFIX) ? type.slice(CORE_PREFIX.length) : type;
  if (name.includes(':')) return;
  const known =
    name === 'integer64' || model.type2Parent[name] !== undefined || model.path2Type[name] !== undefined;
  if (!known) fail(`${where} ${type} is not a FHIR type`, where);
}

function checkColumn(c: unknown, where: string): void {
  if (!isObject(c)) fail(`${where} must be an object`, where);
  sqlName(c.name, `${where}.name`);
  pathText(c.path, `${where}.path`);
  checkType(c.type, `${where}.type`);
  if (c.collection !== undefined && typeof c.collection !== 'boolean') {
    fail(`${where}.collection must be true or false`, `${where}.collection`);
  }
}

function checkSelect(s: unknown, where: string): void {
  if (!isObject(s)) fail(`${where} must be an object`, where);
  const iterations = ['forEach', 'forEachOrNull', 'repeat'].filter((k) => s[k] !== undefined);
  if (iterations.length > 1) fail(`${where} has more than one of ${iterations.join(', ')}`, where);
  if (s.forEach !== undefined) pathText(s.forEach, `${where}.forEach`);
  if (s.forEachOrNull !== undefined) pathText(s.forEachOrNull, `${where}.forEachOrNull`);
  if (s.repeat !== undefined) {
    arrayOf(s.repeat, `${where}.repeat`, true).forEach((p, i) => pathText(p, `${where}.repeat[${i}]`));
  }
  arrayOf(s.column, `${where}.column`).forEach((c, i) => checkColumn(c, `${where}.column[${i}]`));
  arrayOf(s.select, `${where}.select`).forEach((c, i) => checkSelect(c, `${where}.select[${i}]`));
  arrayOf(s.unionAll, `${where}.unionAll`).forEach((c, i) => checkSelect(c, `${where}.unionAll[${i}]`));
}

/**
 * Checks the structure of a ViewDefinition (types, required elements, names, one iteration per
 * selection) and returns it typed. Paths, constants, column uniqueness and unionAll shapes are
 * checked when the view is compiled.
 */
export function validateViewStructure(view: unknown): ViewDefinition {
  if (!isObject(view)) fail('a ViewDefinition must be a JSON object', 'ViewDefinition');
  if (view.resourceType !== undefined && view.resourceType !== 'ViewDefinition') {
    fail('resourceType must be ViewDefinition', 'resourceType');
  }
  if (typeof view.resource !== 'string' || view.resource === '') fail('resource is required', 'resource');
  if (!isResourceType(view.resource))
    fail(`resource ${view.resource} is not an R4 resource type`, 'resource');
  if (view.name !== undefined) sqlName(view.name, 'name');
  const names = new Set<string>();
  arrayOf(view.constant, 'constant').forEach((c, i) => {
    if (!isObject(c)) fail(`constant[${i}] must be an object`, `constant[${i}]`);
    sqlName(c.name, `constant[${i}].name`);
    if (names.has(c.name as string))
      fail(`constant ${String(c.name)} is defined twice`, `constant[${i}].name`);
    names.add(c.name as string);
  });
  arrayOf(view.where, 'where').forEach((w, i) => {
    if (!isObject(w)) fail(`where[${i}] must be an object`, `where[${i}]`);
    pathText(w.path, `where[${i}].path`);
  });
  arrayOf(view.select, 'select', true).forEach((s, i) => checkSelect(s, `select[${i}]`));
  return view as unknown as ViewDefinition;
}
