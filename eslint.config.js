import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers of docs/architecture.md ("Dependency rules"): for each folder of src/, the folders it may
// import. Everything else of ours is banned, so a new edge must be added here (and to the doc's table,
// which test/lint/layers.test.ts compares with this one). Each folder gets exactly one rule block,
// generated below; no later block touches these rules.
export const LAYERS = {
  fhir: { imports: [] },
  views: { imports: ['fhir'] },
  generate: { imports: ['fhir'] },
  store: { imports: ['fhir'] },
  storage: { imports: ['fhir'] },
  tables: { imports: ['fhir', 'views', 'store'] },
  // views and tables: for $viewdefinition-export, drawn in the picture, built from export.
  export: { imports: ['fhir', 'store', 'storage', 'views', 'tables'] },
  auth: { imports: ['fhir', 'store'] },
  server: { imports: ['fhir', 'store', 'export', 'auth', 'views', 'tables'], fastify: 'all' },
  client: { imports: [] },
  // The bench drives `fhirhose` child processes; in process it only registers clients, makes data and
  // speaks HTTP as a client.
  bench: { imports: ['store', 'auth', 'client', 'generate'] },
  // createRuntime hands the server it assembled to its callers: the FastifyInstance type, nothing else.
  cli: {
    imports: [
      'fhir',
      'store',
      'storage',
      'export',
      'auth',
      'server',
      'client',
      'generate',
      'views',
      'tables',
      'bench',
    ],
    fastify: 'types',
    env: true,
  },
};

// A layer is imported through its index.ts only; the store has a second entry so that SQLite users
// never load 'pg'.
const ENTRIES = { store: ['index.js', 'postgres.js'] };

const folders = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const unruled = folders.filter((f) => !(f in LAYERS));
if (unruled.length > 0) throw new Error(`eslint.config.js: no layer rule for src/${unruled.join(', src/')}`);

/** The one rule block of src/<folder>: imports of other layers, fastify, and process.env. */
function layerBlock(folder, { imports, fastify = 'none', env = false }) {
  const patterns = [];
  for (const other of Object.keys(LAYERS)) {
    if (other === folder) continue;
    if (imports.includes(other)) {
      const entries = ENTRIES[other] ?? ['index.js'];
      patterns.push({
        group: [`**/${other}/**`, ...entries.map((e) => `!**/${other}/${e}`)],
        message: `layer rule: import src/${other} through ${entries.join(' or ')} only`,
      });
    } else {
      patterns.push({
        group: [`**/${other}`, `**/${other}/**`],
        message: `layer rule: src/${folder} may not import src/${other} (docs/architecture.md)`,
      });
    }
  }
  if (fastify !== 'all') {
    patterns.push({
      group: ['fastify', '@fastify/*'],
      message: 'layer rule: only src/server imports fastify',
      allowTypeImports: fastify === 'types',
    });
  }
  const rules = { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] };
  if (!env) {
    rules['no-restricted-properties'] = [
      'error',
      {
        object: 'process',
        property: 'env',
        message: 'settings are read in src/cli and passed down as options',
      },
    ];
  }
  return { files: [`src/${folder}/**`], rules };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  ...Object.entries(LAYERS).map(([folder, rule]) => layerBlock(folder, rule)),
  { files: ['src/cli/**', 'scripts/**', 'bin/**'], rules: { 'no-console': 'off' } },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // The dashboard page's script runs in the browser (no build step).
    files: ['public/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        document: 'readonly',
        fetch: 'readonly',
        sessionStorage: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        TextEncoder: 'readonly',
        btoa: 'readonly',
      },
    },
  },
);
