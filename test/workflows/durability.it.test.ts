// Kill the worker (SIGKILL) at two points of a rolling patch, start a new one: the change finishes
// correctly, with exactly the intended containers, no duplicates and no orphans. (Killed mid-bake: on
// the Temporal cluster, test/cluster/cluster.it.test.ts, beside a history-service kill.)
import { temporalConfig } from '../../src/lib/config';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { activeContainerName } from '../../src/record/identity';
import {
  baseEnv,
  cloudName,
  fixtureRecord,
  removeCloudContainers,
  runCli,
  servedVersions,
  snapshot,
  startWorker,
  waitFor,
  writeRecord,
  type WorkerProcess,
} from '../support/harness';
import { FIXTURE } from '../support/fixtures';
import { loadRecordFile } from '../../src/record/load';

jest.setTimeout(240_000);

const QUEUE = 'durability-it';
let client: PatchbayClient;
const clouds: string[] = [];

beforeAll(async () => {
  client = await PatchbayClient.connect(temporalConfig(baseEnv(QUEUE)));
});
afterAll(async () => {
  await client?.close();
  for (const cloud of clouds) await removeCloudContainers(cloud);
});

type KillPoint = 'after stopping an old instance' | 'after starting a new one' | 'mid-bake';

async function patchWithKill(point: KillPoint, ports: number[]): Promise<void> {
  const cloud = cloudName('crash');
  clouds.push(cloud);
  const api = ports.slice(1);
  const record = (image: string) =>
    fixtureRecord(cloud, {
      other: { image: FIXTURE.v1, ports: [ports[0] as number] },
      api: { image, ports: api, bake: '3s' },
    });
  let worker: WorkerProcess = await startWorker(QUEUE);
  try {
    expect((await runCli(['apply', writeRecord(record(FIXTURE.v1))], QUEUE)).code).toBe(0);
    const before = await snapshot(cloud);
    const accepted = await client.apply(loadRecordFile(writeRecord(record(FIXTURE.v2))), {
      message: `kill ${point}`,
      author: 'jest',
    });
    const first = activeContainerName(cloud, 'api', `local-${api[0]}`);

    await waitFor(point, async () => {
      const snap = await snapshot(cloud);
      if (point === 'after stopping an old instance') {
        return [...snap.values()].some((c) => c.name.includes('--retired-') && !c.running);
      }
      if (point === 'after starting a new one') {
        const c = snap.get(first);
        return c?.revision === '2' && c.running;
      }
      const watch = await client.watchChange(accepted.workflowId);
      return watch.services.some((s) => s.instances.some((i) => i.phase === 'baking'));
    });
    await worker.kill();
    // Dead worker: nothing moves on. Then a new worker picks the change up where it was.
    worker = await startWorker(QUEUE);
    const result = await client.waitForChange(cloud, accepted);
    expect(result.outcome).toBe('applied');

    const after = await snapshot(cloud);
    const apiContainers = [...after.values()].filter((c) => c.service === 'api');
    expect(apiContainers.map((c) => c.name).sort()).toEqual(
      api.map((p) => activeContainerName(cloud, 'api', `local-${p}`)).sort(),
    );
    expect(apiContainers.every((c) => c.running && c.revision === '2' && c.image === FIXTURE.v2)).toBe(true);
    expect([...after.values()].filter((c) => c.name.includes('--retired-'))).toEqual([]);
    expect(await servedVersions(api)).toEqual(api.map(() => 'v2'));
    for (const [name, c] of before) if (c.service !== 'api') expect(after.get(name)).toEqual(c);
    const state = await client.state(cloud);
    expect(state?.current).toBe(2);
    expect(state?.active).toBeNull();
  } finally {
    await worker.stop();
  }
}

test('worker killed after stopping an old instance', async () => {
  await patchWithKill('after stopping an old instance', [18401, 18411, 18412, 18413]);
});

test('worker killed after starting a new instance', async () => {
  await patchWithKill('after starting a new one', [18421, 18431, 18432, 18433]);
});
