// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'coverage/**',
      'dist/**',
      'landing/**',
      'truth/**',
      '.carelake/**',
      'scratch/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Architecture rule: only the engine layer talks to DuckDB.
    files: ['src/**/*.ts'],
    ignores: ['src/engine/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: '@duckdb/node-api', message: 'Only src/engine may import @duckdb/node-api.' }] },
      ],
    },
  },
  {
    // Node's recursive mkdir never returns under /proc: folders are made with support/files.ts.
    files: ['src/**/*.ts'],
    ignores: ['src/support/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.property.name='mkdirSync'], CallExpression[callee.name='mkdirSync']",
          message: 'Make folders with makeDirectory (src/support/files.ts).',
        },
      ],
    },
  },
  {
    files: ['bin/**/*.js', 'src/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
