// The test run's PostgreSQL (started by the global setup): its URL, and stop/start on the same data
// directory and port, for tests of what happens when the store goes away mid-change.
import { startEmbeddedPostgres, stopPostgres } from '../../src/store/embeddedPostgres';
import { testEnv } from './env';

export function testStoreUrl(): string {
  return testEnv('databaseUrl');
}

/** Fast shutdown: open sessions are cut, as when the database server goes down. */
export function stopTestPostgres(): Promise<void> {
  return stopPostgres(testEnv('postgresDataDir'));
}

/** Starts it again with the same data; it keeps running after this test process exits. */
export async function startTestPostgres(): Promise<void> {
  await startEmbeddedPostgres({
    dataDir: testEnv('postgresDataDir'),
    port: Number(testEnv('postgresPort')),
  });
}
