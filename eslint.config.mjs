// Flat config: type-aware rules for the whole tree, plus the workflow sandbox rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
// What every workflow file is held to (the sandbox): no Node builtins, no tsconfig paths.
const noNodeBuiltins = nodeBuiltins.map((name) => ({
  name,
  message: 'Node builtins are not allowed in workflow code.',
}));
const relativeOnly = { group: ['src/*', '@/*'], message: 'Use relative imports in workflow code.' };

// Zod and the schemas cost ~1 MiB per workflow instance: workflows import their types only and load
// the values on first use through src/workflows/schemas.ts (test/workflows/schemas.test.ts checks the
// bundle, which also catches a module that imports zod on a workflow's behalf).
const loadedOnFirstUse = {
  group: [
    'zod',
    'zod/*',
    '**/record/schema',
    '**/record/validate',
    '**/campaign/spec',
    '**/messagePayloads',
    '**/campaignPayloads',
  ],
  allowTypeImports: true,
  message: 'Workflows load zod and the schemas on first use: import types here, values through ./schemas.',
};

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'dist',
      '.tools',
      '.state',
      'coverage',
      'bin',
      'eslint.config.mjs',
      'jest.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node builtins, no tsconfig paths.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: noNodeBuiltins,
          patterns: [relativeOnly, loadedOnFirstUse],
        },
      ],
    },
  },
  {
    // The runtime boundary (issue 14): workflows drive runtimes through src/workflows/runtimes and
    // never name one; only the implementations there do.
    files: ['src/workflows/**/*.ts'],
    ignores: ['src/workflows/runtimes/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...['Identifier[name=/docker|kubernetes|k8s/i]', 'Literal[value=/docker|kubernetes|k8s/i]'].map(
          (selector) => ({
            selector,
            message: 'Workflow code names no runtime: go through ./runtimes (strategy.ts).',
          }),
        ),
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: noNodeBuiltins,
          patterns: [
            relativeOnly,
            loadedOnFirstUse,
            {
              group: ['**/runtime/*', '**/runtimes/docker', '**/runtimes/kubernetes'],
              message: 'Reach a runtime through ./runtimes (its index picks the implementation).',
            },
          ],
        },
      ],
    },
  },
  {
    // The payload schemas themselves: loaded on first use (./schemas), so they may import zod.
    files: ['src/workflows/messagePayloads.ts', 'src/workflows/campaignPayloads.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: noNodeBuiltins,
          patterns: [relativeOnly],
        },
      ],
    },
  },
);
