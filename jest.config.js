// Two projects: fast unit tests, and integration tests (*.it.test.ts) against ONE real Temporal dev
// server and the real Docker engine, started by the global setup and torn down after.
const transform = { '^.+\\.ts$': ['@swc/jest'] };
// `patchbay` as the library's users import it (package.json "exports"), from the sources (as tsconfig "paths").
const moduleNameMapper = {
  '^patchbay$': '<rootDir>/src/index.ts',
  '^patchbay/(record|campaign|messages)$': '<rootDir>/src/exports/$1.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  // Wall-clock room for the time-skipping unit tests: npm test runs them beside the integration tests
  // on the same cores (jest's 5 s default is a guess about speed, not about correctness). A global
  // option: jest ignores it inside a project. The integration files set their own.
  testTimeout: 60_000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['\\.it\\.test\\.ts$'],
      transform,
      moduleNameMapper,
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.it.test.ts'],
      globalSetup: '<rootDir>/test/support/globalSetup.ts',
      globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
      transform,
      moduleNameMapper,
    },
  ],
};
