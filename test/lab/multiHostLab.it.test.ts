// The multi-host lab (scripts/multihost-lab.sh, test/support/multiHostLab.ts) does what multi-host
// tests rely on: three hosts with their own addresses and Docker engines; a host-networked container
// answers on its host's address and not on the root namespace's 127.0.0.1; a link cut and an engine
// stop are real and reversible; a lab host reaches another one, and a server on the root
// namespace's 127.0.0.1 (the Temporal dev server) through forwardPort.
import http from 'node:http';
import Docker from 'dockerode';
import { TEMPORAL_BIN } from '../../src/lib/config';
import { testEnv } from '../support/env';
import { FIXTURE } from '../support/fixtures';
import { freePort } from '../support/freePort';
import {
  LAB_GATEWAY,
  cutLink,
  execIn,
  forwardPort,
  restoreLink,
  startEngine,
  startLab,
  stopEngine,
  type LabHost,
} from '../support/multiHostLab';

jest.setTimeout(180_000);

let hosts: LabHost[] = [];
let h1: LabHost, h2: LabHost, h3: LabHost;
let port: number;
const engines = new Map<string, Docker>();
const engine = (host: LabHost) => engines.get(host.name)!;
const containerName = (host: LabHost) => `pblab-it-${host.name}`;

interface Answer {
  status?: number;
  body?: string;
  error?: string;
}

/** One GET on a new connection, bounded: the answer, or why there was none. */
function get(url: string, timeoutMs = 1_500): Promise<Answer> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body: body.trim() }));
    });
    const timer = setTimeout(() => request.destroy(new Error('TIMEOUT')), timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

/** Polls until `check` holds, every 200 ms, for at most timeoutMs; returns the last answer. */
async function until(url: string, check: (a: Answer) => boolean, timeoutMs: number): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  let answer = await get(url);
  while (!check(answer) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    answer = await get(url);
  }
  return answer;
}

const healthUrl = (host: LabHost) => `http://${host.address}:${port}/health`;
const servesItself = (host: LabHost) => (a: Answer) => a.status === 200 && a.body === host.name;

/** Runs a command on a host to completion (bounded): its exit code and output. */
function runIn(host: LabHost, cmd: string, args: string[], timeoutMs = 20_000) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = execIn(host, cmd, args);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function removeContainer(host: LabHost): Promise<void> {
  await engine(host)
    .getContainer(containerName(host))
    .remove({ force: true })
    .catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 404) throw error;
    });
}

/** The fixture binds 127.0.0.1 only (test/fixtures/image/entry.sh): its `job` mode serves 0.0.0.0. */
async function runFixture(host: LabHost): Promise<void> {
  await removeContainer(host);
  const container = await engine(host).createContainer({
    name: containerName(host),
    Image: FIXTURE.v1,
    Cmd: [
      'job',
      `mkdir -p /www && echo ${host.name} > /www/health && exec /bin/busybox httpd -f -p 0.0.0.0:${port} -h /www`,
    ],
    StopTimeout: 1,
    HostConfig: { NetworkMode: 'host', RestartPolicy: { Name: 'unless-stopped' } },
  });
  await container.start();
}

beforeAll(async () => {
  hosts = await startLab(3);
  [h1, h2, h3] = hosts as [LabHost, LabHost, LabHost];
  for (const host of hosts) engines.set(host.name, new Docker({ socketPath: host.socket, timeout: 15_000 }));
  // A port nothing listens on in the root namespace, so that 127.0.0.1:port cannot be the containers.
  port = await freePort();
});

afterAll(async () => {
  // Only this file's containers: the lab itself stays for other files, and the global teardown stops it.
  for (const host of hosts) await removeContainer(host).catch(() => undefined);
});

test('three hosts with their own address, namespace and answering engine', async () => {
  expect(hosts.map((h) => [h.name, h.address, h.netns, h.socket])).toEqual([
    ['h1', '10.77.0.11', 'pblab-h1', '/run/pblab/h1/docker.sock'],
    ['h2', '10.77.0.12', 'pblab-h2', '/run/pblab/h2/docker.sock'],
    ['h3', '10.77.0.13', 'pblab-h3', '/run/pblab/h3/docker.sock'],
  ]);
  for (const host of hosts) {
    await expect(engine(host).ping()).resolves.toBeTruthy();
    // The fixture images were copied in with their IDs.
    const image = await engine(host).getImage(FIXTURE.v1).inspect();
    expect(image.Id).toMatch(/^sha256:/);
  }
});

test('a host-networked container answers on its host address, not on the root 127.0.0.1', async () => {
  await runFixture(h1);
  await runFixture(h2);
  for (const host of [h1, h2]) {
    const answer = await until(healthUrl(host), servesItself(host), 10_000);
    expect(answer).toEqual({ status: 200, body: host.name });
  }
  const local = await get(`http://127.0.0.1:${port}/health`);
  expect(local.body).not.toBe(h1.name);
  expect(local.body).not.toBe(h2.name);
  expect(local.error).toBe('ECONNREFUSED');
  // From one host to another, through the bridge.
  const across = await runIn(h3, 'curl', ['-fsS', '--max-time', '3', healthUrl(h1)]);
  expect(across).toEqual({ code: 0, output: 'h1\n' });
});

test('a link cut makes the host unreachable, and restoring it brings it back', async () => {
  await cutLink(h2);
  try {
    const started = Date.now();
    expect(await get(healthUrl(h2), 1_500)).toEqual({ error: expect.stringMatching(/TIMEOUT|EHOSTUNREACH/) });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await get(healthUrl(h1))).toEqual({ status: 200, body: 'h1' });
    // A cut is the network only: the engine's unix socket still answers.
    await expect(engine(h2).ping()).resolves.toBeTruthy();
  } finally {
    await restoreLink(h2);
  }
  expect(await until(healthUrl(h2), servesItself(h2), 5_000)).toEqual({ status: 200, body: 'h2' });
});

test("stopping a host's engine takes it and its containers down; starting it brings them back", async () => {
  await stopEngine(h2);
  try {
    await expect(engine(h2).ping()).rejects.toThrow();
    expect((await get(healthUrl(h2))).error).toBe('ECONNREFUSED');
    expect(await get(healthUrl(h1))).toEqual({ status: 200, body: 'h1' });
  } finally {
    await startEngine(h2);
  }
  await expect(engine(h2).ping()).resolves.toBeTruthy();
  // Restart policy unless-stopped: the engine starts the container again.
  expect(await until(healthUrl(h2), servesItself(h2), 15_000)).toEqual({ status: 200, body: 'h2' });
  expect((await engine(h2).getContainer(containerName(h2)).inspect()).State.Running).toBe(true);
});

test("forwardPort: a host reaches the Temporal dev server on the root namespace's 127.0.0.1", async () => {
  const temporalPort = Number(testEnv('address').split(':').pop());
  const health = (address: string) =>
    runIn(h1, TEMPORAL_BIN, [
      'operator',
      'cluster',
      'health',
      '--address',
      address,
      '--command-timeout',
      '5s',
    ]);
  // Not without it: 127.0.0.1 in h1 is h1's own loopback.
  expect((await health(`127.0.0.1:${temporalPort}`)).code).not.toBe(0);
  const forward = await forwardPort(LAB_GATEWAY, 0, '127.0.0.1', temporalPort);
  try {
    const through = await health(`${LAB_GATEWAY}:${forward.port}`);
    expect(through.output).toMatch(/SERVING/);
    expect(through.code).toBe(0);
  } finally {
    await forward();
  }
});
