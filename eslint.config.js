import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers of docs/architecture.md ("Dependency rules"): for each folder of src/, the folders it may
// import. Everything else of ours is banned, so a new edge must be added here (and to the doc's table,
// which test/lint/layers.test.ts compares with this one). Each folder's rule blocks are generated
// below (one, but for src/store: see STORE_BACKENDS); no later block touches these rules.
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

// Inside src/store the two backends stand apart (docs/architecture.md, "The store's backends"): each
// of src/store/<backend> may import the shared files of src/store but not the other backend, and the
// shared files import no backend, except the ones that pick or re-export one (PICKERS).
export const STORE_BACKENDS = ['sqlite', 'postgres'];
const PICKERS = ['index.ts', 'open-store.ts', 'postgres.ts'];

const folders = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const unruled = folders.filter((f) => !(f in LAYERS));
if (unruled.length > 0) throw new Error(`eslint.config.js: no layer rule for src/${unruled.join(', src/')}`);

/** The patterns of the store's own rule: the backends apart, and the shared files apart from them. */
function storePatterns(part) {
  if (part === 'pickers') return [];
  const banned = STORE_BACKENDS.filter((b) => b !== part);
  return [
    {
      // `<backend>.js` too: src/store/postgres.ts is the PostgreSQL entry.
      group: banned.flatMap((b) => [`**/${b}/**`, `**/${b}.js`]),
      message:
        part === 'shared'
          ? `layer rule: shared src/store files import no backend (${banned.join(', ')}); only ${PICKERS.join(', ')} pick one`
          : `layer rule: src/store/${part} may not import ${banned.map((b) => `src/store/${b}`).join(', ')}`,
    },
  ];
}

/**
 * The rule blocks of src/<folder>: imports of other layers, fastify, and process.env. One block, but
 * for src/store: one each for the shared files, each backend's folder and the pickers, with disjoint
 * files, each carrying the layer's patterns and its own (a later block would replace, not add to them).
 */
function layerBlocks(folder, rule) {
  if (folder !== 'store') return [layerBlock(folder, rule, [])];
  const backends = STORE_BACKENDS.map((b) => `src/store/${b}/**`);
  const pickers = PICKERS.map((f) => `src/store/${f}`);
  return [
    { ...layerBlock(folder, rule, storePatterns('shared')), ignores: [...backends, ...pickers] },
    ...STORE_BACKENDS.map((b) => ({
      ...layerBlock(folder, rule, storePatterns(b)),
      files: [`src/store/${b}/**`],
    })),
    { ...layerBlock(folder, rule, storePatterns('pickers')), files: pickers },
  ];
}

/** One rule block of src/<folder>, with `own` patterns added to the layer's. */
function layerBlock(folder, { imports, fastify = 'none', env = false }, own) {
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
  patterns.push(...own);
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
  ...Object.entries(LAYERS).flatMap(([folder, rule]) => layerBlocks(folder, rule)),
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
