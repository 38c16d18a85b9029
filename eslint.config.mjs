// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'docs/api/', '.bench-tmp/', '.doccheck/', 'test/pack/fixture/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', URLSearchParams: 'readonly', performance: 'readonly', fetch: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', __dirname: 'readonly', require: 'readonly', module: 'writable', setImmediate: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // The core and the plugins never import a web framework (DESIGN.md: only src/adapters/ may).
    files: ['src/core/**/*.ts', 'src/plugins/**/*.ts', 'src/stores/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['express', 'koa'], patterns: ['express/*', 'koa/*', '@koa/*'] }],
    },
  },
);
