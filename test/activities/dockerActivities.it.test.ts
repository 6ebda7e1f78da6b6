// Activities against the real Docker engine and real containers: idempotency (a retry after a crash
// finds what the first attempt did), health gates on real HTTP endpoints, bake watching, restore.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDockerActivities } from '../../src/activities/dockerActivities';
import type { InstanceRef } from '../../src/activities/types';
import {
  LABEL,
  activeContainerName,
  instanceSpecHash,
  retiredContainerName,
} from '../../src/record/identity';
import { CloudRecordSchema, type ServiceSpec } from '../../src/record/schema';
import { dockerForHost } from '../../src/runtime/dockerClient';
import {
  cloudName,
  docker,
  fixtureRecord,
  removeCloudContainers,
  servedVersions,
  snapshot,
} from '../support/harness';
import { FIXTURE } from '../support/fixtures';
import { testEnv } from '../support/env';

jest.setTimeout(60_000);

const activities = createDockerActivities({
  docker: dockerForHost,
  extraLabels: { [LABEL.test]: testEnv('run') },
});
const cloud = cloudName('act');
const PORT = 18601;
const spec = (image: string, timeout = '5s'): ServiceSpec =>
  CloudRecordSchema.parse(fixtureRecord(cloud, { svc: { image, ports: [PORT], timeout } })).spec
    .services[0] as ServiceSpec;
const host = {
  name: 'local',
  endpoint: 'unix:///var/run/docker.sock',
  address: '127.0.0.1',
  reach: 'direct' as const,
};
const ref: InstanceRef = { cloud, service: 'svc', instance: `local-${PORT}`, host };
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  new MockActivityEnvironment().run(fn, ...args);

afterEach(() => removeCloudContainers(cloud));

test('startInstance is idempotent: a retry adopts the container the first attempt made', async () => {
  const s = spec(FIXTURE.v1);
  const first = await run(activities.startInstance, {
    ref,
    service: s,
    instance: s.instances[0]!,
    revision: 1,
  });
  const second = await run(activities.startInstance, {
    ref,
    service: s,
    instance: s.instances[0]!,
    revision: 1,
  });
  expect(second.containerId).toBe(first.containerId);
  const snap = await snapshot(cloud);
  expect(snap.size).toBe(1);
  const info = await docker.getContainer(first.containerId).inspect();
  expect(info.HostConfig.NetworkMode).toBe('host');
  expect(info.Config.Labels).toMatchObject({
    [LABEL.cloud]: cloud,
    [LABEL.service]: 'svc',
    [LABEL.instance]: `local-${PORT}`,
    [LABEL.version]: 'v1',
    [LABEL.revision]: '1',
  });
  const gate = await run(activities.waitHealthy, { ref, port: PORT, health: s.health });
  expect(gate.lastResponse).toBe('200 OK');
  expect(await servedVersions([PORT])).toEqual(['v1']);
});

test('a retry that adopts a created, never started container delivers its config files first', async () => {
  const s: ServiceSpec = {
    ...spec(FIXTURE.v1),
    config: { '/etc/fixture/fixture.conf': { content: 'GREETING=from-{{port}}\n', mode: '0644' } },
  };
  const instance = s.instances[0]!;
  // What a first attempt leaves when the worker dies between create and copy: the container, no files.
  await docker.createContainer({
    name: activeContainerName(cloud, 'svc', `local-${PORT}`),
    Image: FIXTURE.v1,
    Env: [`PORT=${PORT}`],
    Labels: {
      [LABEL.test]: testEnv('run'),
      [LABEL.managed]: 'true',
      [LABEL.cloud]: cloud,
      [LABEL.service]: 'svc',
      [LABEL.instance]: `local-${PORT}`,
      [LABEL.revision]: '1',
      [LABEL.specHash]: instanceSpecHash(s, instance),
    },
    HostConfig: { NetworkMode: 'host', Init: true },
  });
  const started = await run(activities.startInstance, { ref, service: s, instance, revision: 1 });
  expect((await snapshot(cloud)).size).toBe(1);
  await run(activities.waitHealthy, { ref, port: PORT, health: s.health });
  const served = await fetch(`http://127.0.0.1:${PORT}/config/fixture.conf`);
  expect(await served.text()).toBe(`GREETING=from-${PORT}\n`);
  // Started containers are not written to again: a second retry leaves the file as it is.
  await run(activities.startInstance, { ref, service: s, instance, revision: 1 });
  expect((await docker.getContainer(started.containerId).inspect()).RestartCount).toBe(0);
});

test('startInstance refuses to overwrite a container that was not retired', async () => {
  const s1 = spec(FIXTURE.v1);
  await run(activities.startInstance, { ref, service: s1, instance: s1.instances[0]!, revision: 1 });
  const s2 = spec(FIXTURE.v2);
  await expect(
    run(activities.startInstance, { ref, service: s2, instance: s2.instances[0]!, revision: 2 }),
  ).rejects.toThrow(/exists \(revision 1\) and was not retired first/);
});

test('retire, start, restore: each twice, ending exactly as before', async () => {
  const s1 = spec(FIXTURE.v1);
  const old = await run(activities.startInstance, {
    ref,
    service: s1,
    instance: s1.instances[0]!,
    revision: 1,
  });
  await run(activities.waitHealthy, { ref, port: PORT, health: s1.health });
  const retired = await run(activities.retireInstance, { ref, revision: 2, stopTimeoutMs: 2_000 });
  const retiredAgain = await run(activities.retireInstance, { ref, revision: 2, stopTimeoutMs: 2_000 });
  expect(retired).toEqual({
    retiredName: retiredContainerName(cloud, 'svc', ref.instance, 2),
    containerId: old.containerId,
  });
  expect(retiredAgain).toEqual(retired);

  const s2 = spec(FIXTURE.v2);
  await run(activities.startInstance, { ref, service: s2, instance: s2.instances[0]!, revision: 2 });
  await run(activities.waitHealthy, { ref, port: PORT, health: s2.health });
  expect(await servedVersions([PORT])).toEqual(['v2']);

  const input = {
    ref,
    revision: 2,
    retiredName: retired.retiredName,
    previous: { service: s1, instance: s1.instances[0]!, revision: 1 },
  };
  expect((await run(activities.restoreInstance, input)).outcome).toBe('kept-container-restarted');
  expect((await run(activities.restoreInstance, input)).outcome).toBe('already-restored');
  await run(activities.waitHealthy, { ref, port: PORT, health: s1.health });
  expect(await servedVersions([PORT])).toEqual(['v1']);
  const snap = await snapshot(cloud);
  expect([...snap.keys()]).toEqual([activeContainerName(cloud, 'svc', ref.instance)]);
  expect(snap.get(activeContainerName(cloud, 'svc', ref.instance))?.id).toBe(old.containerId);
});

test('a health gate that never passes fails with instance, check and last response', async () => {
  const s = spec(FIXTURE.broken, '2s');
  await run(activities.startInstance, { ref, service: s, instance: s.instances[0]!, revision: 1 });
  const failure = run(activities.waitHealthy, { ref, port: PORT, health: s.health });
  await expect(failure).rejects.toThrow(
    new RegExp(
      `svc/local-${PORT} failed its health gate: GET http://127.0.0.1:${PORT}/health expecting 200, last response 404 Not Found`,
    ),
  );
});

test('a slow starter passes its gate once it serves; the gate is not fooled by connection refused', async () => {
  const s = spec(FIXTURE.slow, '20s');
  await run(activities.startInstance, { ref, service: s, instance: s.instances[0]!, revision: 1 });
  const gate = await run(activities.waitHealthy, { ref, port: PORT, health: s.health });
  expect(gate.attempts).toBeGreaterThan(2);
  expect(gate.lastResponse).toBe('200 OK');
});

/** A real HTTP endpoint answering `status` to everything, on a free loopback port. */
async function answering(status: number): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(status, { connection: 'close' }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test('a gate fails at once after N consecutive 5xx answers; other answers and the timeout as before', async () => {
  const s = spec(FIXTURE.v1);
  await run(activities.startInstance, { ref, service: s, instance: s.instances[0]!, revision: 1 });
  const broken = await answering(500);
  const notFound = await answering(404);
  try {
    const health = { ...s.health, timeout: 30_000, interval: 100, failureThreshold: 3 };
    const t0 = Date.now();
    await expect(run(activities.waitHealthy, { ref, port: broken.port, health })).rejects.toThrow(
      /last response 500 Internal Server Error \(3 in a row\) after 0\.\d+s/,
    );
    expect(Date.now() - t0).toBeLessThan(5_000); // not the 30 s timeout

    // The default (no threshold in the record) is 5 in a row.
    const { failureThreshold: _f, ...unset } = health;
    await expect(run(activities.waitHealthy, { ref, port: broken.port, health: unset })).rejects.toThrow(
      /\(5 in a row\)/,
    );

    // 0 turns it off: only the timeout decides; a 404 is not a server error and never counts.
    const off = { ...health, timeout: 1_500, failureThreshold: 0 };
    const t1 = Date.now();
    await expect(run(activities.waitHealthy, { ref, port: broken.port, health: off })).rejects.toThrow(
      /last response 500 Internal Server Error after 1\.\ds/,
    );
    expect(Date.now() - t1).toBeGreaterThanOrEqual(1_500);
    const short = { ...health, timeout: 1_500 };
    await expect(run(activities.waitHealthy, { ref, port: notFound.port, health: short })).rejects.toThrow(
      /last response 404 Not Found after 1\.\ds/,
    );
  } finally {
    await broken.close();
    await notFound.close();
  }
});

test('bake notices an instance that exits', async () => {
  const s = spec(FIXTURE.crash);
  const started = await run(activities.startInstance, {
    ref,
    service: s,
    instance: s.instances[0]!,
    revision: 1,
  });
  await run(activities.waitHealthy, { ref, port: PORT, health: s.health });
  await expect(
    run(activities.bakeInstance, {
      ref,
      port: PORT,
      health: s.health,
      containerId: started.containerId,
      bakeMs: 10_000,
    }),
  ).rejects.toThrow(/failed during bake/);
});

test('preflight names a missing image and touches nothing', async () => {
  const s = spec('patchbay/fixture:does-not-exist');
  await expect(run(activities.preflightService, { cloud, service: s, hosts: [host] })).rejects.toThrow(
    /image patchbay\/fixture:does-not-exist is not present on host local/,
  );
  expect((await snapshot(cloud)).size).toBe(0);
});

test('secrets are resolved into the container and never returned', async () => {
  process.env.PATCHBAY_TEST_SECRET = 's3cret-value';
  const s = { ...spec(FIXTURE.v1), secretEnv: { DB_PASSWORD: 'env:PATCHBAY_TEST_SECRET' } };
  const result = await run(activities.startInstance, {
    ref,
    service: s,
    instance: s.instances[0]!,
    revision: 1,
  });
  expect(JSON.stringify(result)).not.toContain('s3cret-value');
  const info = await docker.getContainer(result.containerId).inspect();
  expect(info.Config.Env).toContain('DB_PASSWORD=s3cret-value');
});
