// Starts ONE Temporal dev server (the pinned binary, in memory, its Web UI on a free loopback port
// for the browser test: no measurable start-up cost, ~2 MB) and ONE empty, migrated
// PostgreSQL record store, and bundles the workflow code ONCE for all integration suites; checks
// Docker and the fixture images. Fails loudly, never skips.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startDevServer } from '../../src/lib/devServer';
import { PROJECT_ROOT, TEMPORAL_BIN } from '../../src/lib/config';
import { dockerClient } from '../../src/runtime/dockerClient';
import { LABEL } from '../../src/record/identity';
import { startFreshPostgres } from '../../src/store/embeddedPostgres';
import { migrateStore } from '../../src/store/migrate';
import { workflowBundleOptions } from '../../src/worker/workflowBundle';
import { TEST_ENV } from './env';
import { FIXTURE_IMAGES } from './fixtures';
import { freePort } from './freePort';

/**
 * `jest --selectProjects integration test/x.ts` takes the path for a second project name and runs
 * EVERY integration suite (20 minutes): refuse that, and say how to write it.
 */
function refuseMisreadPaths(argv: string[]): void {
  const at = argv.indexOf('--selectProjects');
  if (at < 0) return;
  const names: string[] = [];
  for (const arg of argv.slice(at + 1)) {
    if (arg.startsWith('-')) break;
    names.push(arg);
  }
  const misread = names.filter((p) => p !== 'unit' && p !== 'integration');
  if (misread.length)
    throw new Error(
      `jest read ${misread.join(', ')} as project name(s) and would run every integration suite; ` +
        `put the paths first: npx jest ${misread.join(' ')} --selectProjects integration`,
    );
}

export default async function globalSetup(): Promise<void> {
  refuseMisreadPaths(process.argv);
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
  // A second lane (scripts/test.sh: PATCHBAY_TEST_LANE) runs beside the first, with its own server,
  // store and state directories; only the first removes leftovers, before the second starts.
  const lane = process.env.PATCHBAY_TEST_LANE ? `-${process.env.PATCHBAY_TEST_LANE}` : '';
  // Leftovers of a crashed earlier run carry the test label: remove them before starting.
  if (!lane)
    for (const c of await docker.listContainers({ all: true, filters: { label: [LABEL.test] } })) {
      await docker.getContainer(c.Id).remove({ force: true });
    }

  const port = await freePort();
  const server = await startDevServer({
    binary: TEMPORAL_BIN,
    stateDir: path.join(PROJECT_ROOT, '.state', `test${lane}`),
    port,
    uiPort: await freePort(),
    ephemeral: true,
  });
  // A fresh store every run (a crashed run's server on this directory is stopped first); its data
  // directory stays put so a test can stop the server and start it again on the same data.
  const postgresDir = path.join(PROJECT_ROOT, '.state', `test-postgres${lane}`);
  const postgres = await startFreshPostgres({ dataDir: postgresDir, port: await freePort() });
  process.env[TEST_ENV.databaseUrl] = postgres.url;
  process.env[TEST_ENV.postgresDataDir] = postgresDir;
  process.env[TEST_ENV.postgresPort] = new URL(postgres.url).port;
  await migrateStore(postgres.url);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'patchbay-test-'));
  const bundle = await bundleWorkflowCode({
    ...workflowBundleOptions(),
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
  process.env[TEST_ENV.uiUrl] = server.uiUrl;
  process.env[TEST_ENV.bundle] = bundlePath;
  process.env[TEST_ENV.run] = `run-${Date.now()}`;
  (globalThis as Record<string, unknown>).__patchbayTest = { server, dir };
}
