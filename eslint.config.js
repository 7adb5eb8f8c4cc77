// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The recommended rules of ESLint and typescript-eslint; `npm test` runs them. */
export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'test-artifacts/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_unused` marks a value destructured away on purpose (a raw id, a secret), as in idp/store/adapter.ts.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['public/**/*.js'],
    languageOptions: { globals: { document: 'readonly', window: 'readonly', setInterval: 'readonly', setTimeout: 'readonly' } },
  },
);
