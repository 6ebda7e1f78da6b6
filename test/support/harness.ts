// Helpers for integration tests: a real worker process (so tests can SIGKILL it), the real CLI as a
// subprocess (exit codes, stdout/stderr), records written to files, and Docker snapshots.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type Docker from 'dockerode';
import { PROJECT_ROOT } from '../../src/lib/config';
import { dockerClient } from '../../src/runtime/dockerClient';
import { LABEL } from '../../src/record/identity';
import { probeHttp } from '../../src/runtime/httpProbe';
import type { CloudRecordInput } from '../../src/record/schema';
import { testEnv } from './env';
import { cloudSnapshot, type ContainerSnapshot } from '../../src/lab/containers';

const BIN = path.join(PROJECT_ROOT, 'bin', 'patchbay.js');

export const docker: Docker = dockerClient('unix:///var/run/docker.sock');

export function baseEnv(taskQueue: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: testEnv('address'),
    PATCHBAY_TASK_QUEUE: taskQueue,
    PATCHBAY_WORKFLOW_BUNDLE: testEnv('bundle'),
    PATCHBAY_TEST_RUN: testEnv('run'),
    PATCHBAY_AUTHOR: 'jest',
  };
}

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  /** SIGKILL: the worker dies mid-step, as in a crash. */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown. */
  stop(): Promise<void>;
}

/** Waits until a spawned patchbay process prints `ready` (60 s at most); SIGKILL/SIGTERM to end it. */
async function untilReady(child: ChildProcess, ready: string, what: string): Promise<WorkerProcess> {
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!output.includes(ready)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`${what} did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      await exited;
    }
  };
  return { child, output: () => output, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

/** Starts `patchbay worker` as a separate process and waits until it polls. */
export async function startWorker(
  taskQueue: string,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [BIN, 'worker'], {
    env: { ...baseEnv(taskQueue), ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return untilReady(child, 'patchbay worker: task queue', 'worker');
}

/** Starts `patchbay agent` for one host of a cloud as a separate process and waits until it polls. */
export async function startAgent(
  cloud: string,
  host: string,
  options: {
    spawnWith?: (argv: string[], env: NodeJS.ProcessEnv) => ChildProcess;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<WorkerProcess> {
  const argv = [process.execPath, BIN, 'agent', '--cloud', cloud, '--host', host];
  const env = { ...baseEnv('unused-by-agents'), ...options.env };
  const child = options.spawnWith
    ? options.spawnWith(argv, env)
    : spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return untilReady(child, 'patchbay agent ', 'agent');
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `patchbay` CLI. */
export function runCli(
  args: string[],
  taskQueue: string,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...baseEnv(taskQueue), ...extraEnv } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'patchbay-records-'));

/** Writes a record to a YAML file and returns its path. */
export function writeRecord(
  record: CloudRecordInput,
  name = `${record.metadata.name}-${Date.now()}.yaml`,
): string {
  const file = path.join(tmp, name);
  writeFileSync(file, stringify(record));
  return file;
}

export interface ServiceOptions {
  image: string;
  ports: number[];
  dependsOn?: string[];
  bake?: string;
  maxUnavailable?: number;
  timeout?: string;
  env?: Record<string, string>;
  onFailure?: 'rollback' | 'pause';
}

/** A record of fixture services on the local Docker engine. */
export function fixtureRecord(cloud: string, services: Record<string, ServiceOptions>): CloudRecordInput {
  return {
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: cloud, labels: { purpose: 'test' } },
    spec: {
      runtime: { docker: { hosts: [{ name: 'local', endpoint: 'unix:///var/run/docker.sock' }] } },
      services: Object.entries(services).map(([name, s]) => ({
        name,
        image: s.image,
        dependsOn: s.dependsOn ?? [],
        instances: s.ports.map((port) => ({ host: 'local', port })),
        env: { PORT: '{{port}}', ...s.env },
        health: {
          http: { path: '/health', expectStatus: 200 },
          timeout: s.timeout ?? '15s',
          interval: '250ms',
        },
        upgrade: {
          strategy: 'rolling',
          maxUnavailable: s.maxUnavailable ?? 1,
          bake: s.bake ?? '0s',
          onFailure: s.onFailure ?? 'rollback',
        },
        stopGracePeriod: '2s',
      })),
    },
  };
}

export type { ContainerSnapshot };

/** Every container of a cloud, by name, with the identity facts non-destructiveness is judged on. */
export function snapshot(cloud: string): Promise<Map<string, ContainerSnapshot>> {
  return cloudSnapshot(docker, cloud);
}

/** What each port serves at /version (the fixture's version), or the probe error. */
export async function servedVersions(ports: number[]): Promise<string[]> {
  return Promise.all(
    ports.map(async (port) => {
      const res = await fetch(`http://127.0.0.1:${port}/version`, {
        signal: AbortSignal.timeout(2_000),
      }).catch((e: Error) => e);
      // Not instanceof: a fetch error may come from another realm than the test's Error.
      if (typeof (res as Response).text !== 'function') return `error: ${(res as Error).message}`;
      return (await (res as Response).text()).trim();
    }),
  );
}

export async function healthy(port: number): Promise<boolean> {
  return (await probeHttp(`http://127.0.0.1:${port}/health`, 2_000)).status === 200;
}

export async function removeCloudContainers(cloud: string): Promise<void> {
  for (const c of await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL.cloud}=${cloud}`] },
  })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
}

/** Polls until the predicate holds (bounded). */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

let uniq = 0;
/** A cloud name unique to this test run (containers are named after it). */
export function cloudName(prefix: string): string {
  uniq++;
  return `${prefix}-${process.pid % 10_000}-${uniq}`;
}
