// Lint rules that hold the architecture of STYLE.md: core stays pure, dependencies point inward.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', 'bench/.data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', '!node:crypto', 'fs', 'path', 'http', 'os', 'child_process'], message: 'core is pure: no IO (node:crypto is allowed for hashing only). Declare a port instead.' },
        { group: ['@portcullis/*', '../../server/*', '**/server/**'], message: 'core imports nothing of ours.' },
        { group: ['fastify', 'zod', 'better-sqlite3', 'yaml', 'commander', 'pino'], message: 'core has no framework imports.' },
      ] }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'core is pure: only the config module reads the environment.' },
        { name: 'Date', message: 'core is pure: inject a Clock.' },
      ],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'core is pure: inject ids/randomness.' }],
    },
  },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
  {
    // The lifecycle has one owner: a stored status changes only in service/proposal-moves.ts, along a core edge.
    files: ['packages/server/src/**/*.ts'],
    ignores: ['packages/server/src/service/proposal-moves.ts', 'packages/server/src/store/**', '**/*.test.ts', 'packages/server/src/testing/**'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: "CallExpression[callee.property.name='updateProposal']",
        message: 'Move a proposal with moveProposal (service/proposal-moves.ts): it takes a lifecycle edge from the core and publishes the change.',
      }],
    },
  },
  {
    files: ['packages/server/src/**/*.ts'],
    ignores: ['packages/server/src/config/**', '**/*.test.ts', 'packages/server/src/testing/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only the config module reads process.env.' }],
    },
  },
);
