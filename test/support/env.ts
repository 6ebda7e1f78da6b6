// What the global setup hands to the test files, through environment variables.
export const TEST_ENV = {
  address: 'PATCHBAY_TEST_TEMPORAL_ADDRESS',
  /** The dev server's Web UI (http://127.0.0.1:<port>), for the browser test. */
  uiUrl: 'PATCHBAY_TEST_TEMPORAL_UI',
  bundle: 'PATCHBAY_TEST_WORKFLOW_BUNDLE',
  run: 'PATCHBAY_TEST_RUN',
  /** The run's own PostgreSQL; every process the tests start inherits it. */
  databaseUrl: 'PATCHBAY_DATABASE_URL',
  /** Where that PostgreSQL keeps its data and listens, so a test can stop it and start it again. */
  postgresDataDir: 'PATCHBAY_TEST_POSTGRES_DIR',
  postgresPort: 'PATCHBAY_TEST_POSTGRES_PORT',
} as const;

export function testEnv(name: keyof typeof TEST_ENV): string {
  const value = process.env[TEST_ENV[name]];
  if (!value)
    throw new Error(
      `${TEST_ENV[name]} is not set: run integration tests through jest's integration project (global setup)`,
    );
  return value;
}
