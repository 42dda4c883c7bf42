// ESLint flat config: typescript-eslint's type-aware rules over every TypeScript file the
// project type-checks, sources and tests alike. Formatting is Prettier's job (.prettierrc.json).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'test/vectors/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // tsconfig.json covers updater, publisher, app, build and test; the two files outside
        // every tsconfig get the root one's options.
        projectService: {
          allowDefaultProject: ['vitest.config.ts', 'server/bench/*.ts'],
          defaultProject: 'tsconfig.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    // The service's tests sit outside server/tsconfig.json (the build); its type check is
    // server/tsconfig.test.json, which the project service cannot find by name.
    files: ['server/src/**/*.ts', 'server/test/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: false, project: ['./server/tsconfig.test.json'], tsconfigRootDir: import.meta.dirname },
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
