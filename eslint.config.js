// ESLint flat config: typescript-eslint's type-aware rules over every TypeScript file the
// project type-checks, sources and tests alike. Formatting is Prettier's job (.prettierrc.json).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'test/vectors/**'] },
  // A disable comment must name a rule that fires there.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // tsconfig.json covers updater, publisher, app, build and test; the two files outside
        // every tsconfig get the root one's options.
        projectService: {
          allowDefaultProject: ['vitest.config.ts'],
          defaultProject: 'tsconfig.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A leading underscore marks a parameter kept only for a signature (callbacks, test doubles).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The service's tests sit outside server/tsconfig.json (the build); its type check is
    // server/tsconfig.test.json, which the project service cannot find by name.
    files: ['server/src/**/*.ts', 'server/test/**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: false,
        project: ['./server/tsconfig.test.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    // Test doubles implement async interfaces (Fetcher, stores, hosts, AsyncIterable bodies) with
    // synchronous bodies; `async` keeps their throws rejections, as in the real implementations.
    files: ['test/**/*.ts', 'server/test/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    // These tests break vector documents at arbitrary paths on purpose (type Json = Record<string, any>):
    // `any` is the honest type of a document being made invalid, so the no-unsafe-* rules cannot help here.
    files: ['test/core/metadata.test.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain JavaScript (bench children, preload scripts, stand-ins): no type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['app/renderer/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    // CommonJS files (Electron preloads, stand-ins) can only load modules with require().
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
