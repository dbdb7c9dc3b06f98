import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Connectors see src/ only through src/core (events, Store, streams, Connector, errors, results,
 * source settings), so that a connector can be written, moved or tested without the rest of the
 * service. The simulators under connectors/**\/sim are test servers of the remote APIs, not
 * connectors: they may use src/lib (free ports, listening). test/core-boundary.test.ts checks it.
 */
export const CONNECTOR_IMPORTS = {
  files: ['connectors/**/*.ts'],
  ignores: ['connectors/**/sim/**', 'connectors/sim/**'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: '^(\\.\\./)+src/(?!core/)',
            message: 'connectors import nothing of src/ but src/core (the shared types); move what you need there, or have the caller pass it in.',
          },
        ],
      },
    ],
  },
};

/** src/core stands alone: it imports nothing of the rest of the project. */
export const CORE_IMPORTS = {
  files: ['src/core/**/*.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: [{ regex: '^\\.\\./', message: 'src/core imports nothing outside src/core: connectors import it, so it must not pull in the rest of src/.' }] },
    ],
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'dashboards/generated/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  CONNECTOR_IMPORTS,
  CORE_IMPORTS,
);
