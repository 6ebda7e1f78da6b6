// Fast workflow tests: Temporal's time-skipping test server (built from Maven Central by
// scripts/build-test-server.sh, since @temporalio/testing's download from GitHub is not always
// reachable), one Worker running the real workflow bundle, and in-memory activities — the scripted
// runtime (scriptedRuntime.ts) and the record-store fake (fakeStore.ts). One environment per test
// file; tests use their own cloud names, so they share it without seeing each other.
//
// What the test server skips: timers and retry backoffs, while the test awaits a workflow's result
// (or calls env.sleep). Not while an activity is running (so fakes answer at once: a bake is
// instant), and env.sleep from inside activities is unreliable. Never await the result of a
// workflow that will wait for an operator: with nothing else to do, the server skips straight to
// its execution timeout. Poll its query with env.sleep instead (serviceRollout.test.ts).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../src/lib/config';
import { workflowBundleOptions } from '../../src/worker/workflowBundle';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/searchAttributes';
import { createFakeStore, type FakeStore } from './fakeStore';
import { createScriptedRuntime, type ScriptedRuntime } from './scriptedRuntime';

export interface FastEnv {
  env: TestWorkflowEnvironment;
  client: TestWorkflowEnvironment['client'];
  taskQueue: string;
  runtime: ScriptedRuntime;
  store: FakeStore;
  /** The test server's clock (skipped time included), in ms. */
  now(): Promise<number>;
  shutdown(): Promise<void>;
}

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD */
const KEYWORD = 2;

let launcher: string | undefined;

/** The test server's launcher; built once per machine (cached), then found in milliseconds. */
export function testServerLauncher(): string {
  launcher ??= execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'build-test-server.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return launcher;
}

/** Every file under src/ and the lock file: what the workflow bundle is built from. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else hash.update(file).update(readFileSync(file));
    }
  };
  walk(path.join(PROJECT_ROOT, 'src'));
  hash.update(readFileSync(path.join(PROJECT_ROOT, 'package-lock.json')));
  return hash.digest('hex').slice(0, 16);
}

/**
 * The real workflow bundle (src/workflows), built once for all fast test files of a run (and reused
 * by later runs while src/ and the lock file are unchanged), in the system's temp directory.
 */
async function workflowBundle(): Promise<{ code: string }> {
  const prefix = 'patchbay-fast-workflows-';
  const cached = path.join(os.tmpdir(), `${prefix}${sourceHash()}.js`);
  try {
    return { code: readFileSync(cached, 'utf8') };
  } catch {
    // not built yet (or removed by a run with other sources): build it
  }
  const { code } = await bundleWorkflowCode({
    ...workflowBundleOptions(),
    logger: new DefaultLogger('WARN'),
  });
  for (const old of readdirSync(os.tmpdir()).filter((f) => f.startsWith(prefix)))
    rmSync(path.join(os.tmpdir(), old), { force: true });
  const partial = `${cached}.${process.pid}`;
  writeFileSync(partial, code);
  renameSync(partial, cached);
  return { code };
}

let runtimeInstalled = false;

export interface FastEnvOptions {
  /**
   * More activities for the worker (e.g. the campaign fakes, fakeCampaign.ts), made once the test
   * server is up: they may use its client and the fakes.
   */
  activities?: (env: {
    client: TestWorkflowEnvironment['client'];
    runtime: ScriptedRuntime;
    store: FakeStore;
  }) => object;
}

export async function startFastEnv(
  taskQueue = `fast-${process.pid}`,
  options: FastEnvOptions = {},
): Promise<FastEnv> {
  if (!runtimeInstalled) {
    // Workflow log lines (an operator gate's warnings, retries) are noise in a test's output.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const t0 = Date.now();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerLauncher() } },
  });
  const t1 = Date.now();
  try {
    // As on a real server: the test server leaves a child started with an unregistered search
    // attribute hanging, and fails a workflow task that upserts one (Outcome, Cloud).
    if (SEARCH_ATTRIBUTES.some(([, type]) => type !== 'Keyword'))
      throw new Error('the fast environment registers Keyword search attributes only');
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map(([name]) => [name, KEYWORD])),
    });
  } catch (error) {
    await env.teardown();
    throw error;
  }
  const runtime = createScriptedRuntime();
  const store = createFakeStore();
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: {
        ...runtime.activities,
        ...store.activities,
        ...options.activities?.({ client: env.client, runtime, store }),
      },
      shutdownGraceTime: '1s',
      shutdownForceTime: '5s',
    });
  } catch (error) {
    await env.teardown();
    throw error;
  }
  if (process.env.FAST_DEBUG)
    console.log(`test server ${t1 - t0} ms, bundle and worker ${Date.now() - t1} ms`);
  const running = worker.run();
  return {
    env,
    client: env.client,
    taskQueue,
    runtime,
    store,
    now: () => env.currentTimeMs(),
    async shutdown() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}

/** Polls (in real time) until the predicate holds; for states a query or a fake reports. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let uniq = 0;
/** A cloud name unique within this test file. */
export function cloudName(prefix: string): string {
  return `${prefix}-${++uniq}`;
}
