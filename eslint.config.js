import js from '@eslint/js';
import regexp from 'eslint-plugin-regexp';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'test-artifacts/', '.lab/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      // Type-aware rules read the types of tsconfig.json's project.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // An async function without await is how an interface's Promise-returning method is kept
      // (and how a throw becomes a rejection); the floating-promise rules catch the real mistakes.
      '@typescript-eslint/require-await': 'off',
      // Passing on what was caught (or an AbortSignal's reason) is not inventing a non-Error rejection.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
    },
  },
  {
    // Plain JavaScript (the bin launchers, the demo page's browser scripts) is outside the TypeScript project.
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The bin launchers are CommonJS (bin/package.json): Node starts a CommonJS entry sooner.
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The demo page's scripts run in the browser.
    files: ['src/demo/page/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    // The Slack stand-in coerces whatever a client sent to text, as Slack does.
    files: ['src/dev/**/*.ts'],
    rules: { '@typescript-eslint/no-base-to-string': 'off' },
  },
  {
    // Tests read JSON output and use vitest's asymmetric matchers (expect.any, expect.objectContaining),
    // which are typed `any`: asserting on them is the point, the assertion is the type check.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The product logs through pino; only the command line and dev tools write to the terminal directly.
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**', 'src/lab/cli.ts', 'src/demo/**', 'scripts/**'],
    rules: { 'no-console': 'error' },
  },
  {
    // Regexes read host output, Slack text and alerts: none may backtrack polynomially or worse
    // (no two quantifiers that can trade characters, no rescanning from every start position).
    files: ['src/**/*.ts'],
    plugins: { regexp },
    rules: {
      'regexp/no-super-linear-backtracking': ['error', { report: 'potential' }],
      // A sticky (/y) regex starts only where the last match ended: it cannot rescan from every position.
      'regexp/no-super-linear-move': ['error', { report: 'potential', ignorePartial: false }],
    },
  },
);
