// Starts ONE Temporal dev server (the pinned binary, in memory, no UI) and bundles the workflow code
// ONCE for all integration suites; checks Docker and the fixture images. Fails loudly, never skips.
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startDevServer } from '../../src/lib/devServer';
import { PROJECT_ROOT, TEMPORAL_BIN } from '../../src/lib/config';
import { dockerClient } from '../../src/runtime/dockerClient';
import { LABEL } from '../../src/record/identity';
import { TEST_ENV } from './env';
import { FIXTURE_IMAGES } from './fixtures';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export default async function globalSetup(): Promise<void> {
  const docker = dockerClient('unix:///var/run/docker.sock');
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(
      `integration tests need a Docker engine on /var/run/docker.sock (${(error as Error).message}); run: bash scripts/bootstrap.sh --fixtures`,
      { cause: error },
    );
  }
  for (const image of FIXTURE_IMAGES) {
    try {
      await docker.getImage(image).inspect();
    } catch (error) {
      throw new Error(`fixture image ${image} is missing; run: bash scripts/build-fixtures.sh`, {
        cause: error,
      });
    }
  }
  // Leftovers of a crashed earlier run carry the test label: remove them before starting.
  for (const c of await docker.listContainers({ all: true, filters: { label: [LABEL.test] } })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }

  const port = await freePort();
  const server = await startDevServer({
    binary: TEMPORAL_BIN,
    stateDir: path.join(PROJECT_ROOT, '.state', 'test'),
    port,
    uiPort: await freePort(),
    ephemeral: true,
    headless: true,
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'patchbay-test-'));
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: {
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: console.warn,
      error: console.error,
      log: () => undefined,
    },
  });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  process.env[TEST_ENV.address] = server.address;
  process.env[TEST_ENV.bundle] = bundlePath;
  process.env[TEST_ENV.run] = `run-${Date.now()}`;
  (globalThis as Record<string, unknown>).__patchbayTest = { server, dir };
}
