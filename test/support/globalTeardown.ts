// Stops the dev server and the run's PostgreSQL, and removes every container this test run created
// (found by label); stops the multi-host lab if this run started it.
import { rmSync } from 'node:fs';
import type { DevServer } from '../../src/lib/devServer';
import { dockerClient } from '../../src/runtime/dockerClient';
import { LABEL } from '../../src/record/identity';
import { stopPostgres } from '../../src/store/embeddedPostgres';
import { TEST_ENV } from './env';
import { stopLabIfStartedBy } from './multiHostLab';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__patchbayTest as
    { server: DevServer; dir: string } | undefined;
  const docker = dockerClient('unix:///var/run/docker.sock');
  const run = process.env[TEST_ENV.run];
  if (run) {
    for (const c of await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.test}=${run}`] },
    })) {
      await docker.getContainer(c.Id).remove({ force: true });
    }
  }
  await stopLabIfStartedBy(run);
  await state?.server.stop();
  // By data directory: a test may have stopped the server and started another process for it.
  const postgresDir = process.env[TEST_ENV.postgresDataDir];
  if (postgresDir) await stopPostgres(postgresDir);
  if (state) rmSync(state.dir, { recursive: true, force: true });
}
