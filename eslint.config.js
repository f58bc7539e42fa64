import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Layering (DESIGN.md): cli -> server/client -> export/auth -> store/storage -> fhir; views -> fhir;
// tables -> views/store.
// Each rule lists the layers a folder must not import.
const layerRules = [
  {
    files: ['src/fhir/**'],
    banned: ['store', 'export', 'storage', 'auth', 'server', 'client', 'cli', 'generate', 'views', 'tables'],
  },
  {
    files: ['src/store/**', 'src/storage/**'],
    banned: ['export', 'auth', 'server', 'client', 'cli', 'tables'],
  },
  { files: ['src/export/**', 'src/auth/**'], banned: ['server', 'client', 'cli'] },
  { files: ['src/server/**'], banned: ['client', 'cli'] },
  { files: ['src/client/**'], banned: ['server', 'export', 'store', 'storage', 'auth', 'cli'] },
  { files: ['src/generate/**'], banned: ['store', 'export', 'storage', 'auth', 'server', 'client', 'cli'] },
  {
    files: ['src/views/**'],
    banned: ['store', 'export', 'storage', 'auth', 'server', 'client', 'cli', 'generate', 'tables'],
  },
  {
    files: ['src/tables/**'],
    banned: ['export', 'storage', 'auth', 'server', 'client', 'cli', 'generate'],
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
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
  ...layerRules.map(({ files, banned }) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...banned.map((layer) => ({
              group: [`**/${layer}/**`, `../${layer}/*`],
              message: `layer rule: no import of src/${layer}`,
            })),
            { group: ['fastify', '@fastify/*'], message: 'only src/server imports fastify' },
          ],
        },
      ],
    },
  })),
  {
    files: ['src/server/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/client/**', '**/cli/**'], message: 'layer rule' }] },
      ],
    },
  },
  { files: ['src/cli/**', 'scripts/**', 'bench/**', 'bin/**'], rules: { 'no-console': 'off' } },
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
