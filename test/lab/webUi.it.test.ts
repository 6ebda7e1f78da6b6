// The Web UI as an operator uses it (issue 19, item 4), in headless Chromium against the test dev
// server's UI: a campaign over 3 fixture clouds, one of which cannot run the new build (its health
// gate fails, the cloud rolls back by itself); the list filtered by the campaign id shows every
// cloud's workflow, and `Outcome = "rolled-back"` shows exactly the rolled-back cloud's.
import { CampaignClient } from '../../src/client/campaignClient';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { CampaignSpecSchema } from '../../src/campaign/spec';
import { temporalConfig } from '../../src/lib/config';
import { CloudRecordSchema } from '../../src/record/schema';
import type { CampaignProgress } from '../../src/workflows/campaignTypes';
import { expectCampaignInWebUi } from '../support/campaignInWebUi';
import { testEnv } from '../support/env';
import { FIXTURE } from '../support/fixtures';
import { freePort } from '../support/freePort';
import {
  fixtureRecord,
  removeCloudContainers,
  startWorker,
  waitFor,
  type WorkerProcess,
} from '../support/harness';

jest.setTimeout(120_000);

const QUEUE = 'webui-it';
const run = `${process.pid % 10_000}`;
const clouds = [1, 2, 3].map((i) => `wu${run}-c${i}`);
/** Its environment makes v2 fail the health gate (the fixture never serves /health for it). */
const failing = clouds[2]!;
let worker: WorkerProcess;
let client: PatchbayClient;

const record = (cloud: string, image: string, port: number) =>
  CloudRecordSchema.parse(
    fixtureRecord(cloud, {
      api: {
        image,
        ports: [port],
        timeout: '2s',
        env: cloud === failing ? { UNHEALTHY_VERSIONS: 'v2' } : {},
      },
    }),
  );

beforeAll(async () => {
  worker = await startWorker(QUEUE);
  client = await PatchbayClient.connect(
    temporalConfig({ TEMPORAL_ADDRESS: testEnv('address'), PATCHBAY_TASK_QUEUE: QUEUE }),
  );
  await Promise.all(
    clouds.map(async (cloud) => {
      await removeCloudContainers(cloud);
      const accepted = await client.apply(record(cloud, FIXTURE.v1, await freePort()), {
        message: 'deploy',
        author: 'jest',
      });
      expect((await client.waitForChange(cloud, accepted)).outcome).toBe('applied');
    }),
  );
});

afterAll(async () => {
  await client?.close();
  await worker?.stop();
  for (const cloud of clouds) await removeCloudContainers(cloud);
});

test('the Web UI lists every cloud of a campaign by its id, and its rollback by Outcome', async () => {
  const id = `wu${run}-k${Date.now() % 100_000}`;
  const campaigns = new CampaignClient(client);
  await campaigns.start(
    CampaignSpecSchema.parse({
      apiVersion: 'patchbay/v1',
      kind: 'Campaign',
      metadata: { name: id },
      spec: {
        clouds: { names: clouds },
        service: 'api',
        image: FIXTURE.v2,
        concurrency: 3,
        // One failure is within budget: the campaign completes, the other clouds stay patched.
        failureBudget: { perWave: 1, total: 1 },
      },
    }),
    'jest',
  );
  const done = await waitFor(
    `campaign ${id} to finish`,
    async () => {
      const p = await campaigns.progress(id);
      return ['completed', 'halted', 'aborted'].includes(p.phase) && p;
    },
    60_000,
    250,
  );
  const statuses = (p: CampaignProgress) =>
    Object.fromEntries(Object.values(p.outcomes).map((o) => [o.cloud, o.status]));
  expect(statuses(done)).toEqual({
    [clouds[0]!]: 'patched',
    [clouds[1]!]: 'patched',
    [failing]: 'rolled-back',
  });

  const pages = await expectCampaignInWebUi({ campaignId: id, clouds, rolledBack: [failing] });
  // The rolled-back cloud's change is the revision the campaign made.
  expect(pages.rolledBack.rows.map((r) => r.workflowId).sort()).toEqual(
    [`campaign:${id}:${failing}`, `cloud:${failing}:r${done.outcomes[failing]!.revision}`].sort(),
  );
});
