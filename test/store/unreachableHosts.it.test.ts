// A revision refused at preflight only because hosts did not answer, in the real record store
// (migration 3, column revisions.unreachable_hosts): written with the outcome, read back by the store
// and by the campaign's outcome check — which leaves that cloud's campaign row to the workflow (try
// again or skip) — and a campaign's next try adopts only a newer revision. No Temporal, no Docker.
import type { Client } from '@temporalio/client';
import { createCampaignActivities } from '../../src/activities/campaignActivities';
import { CampaignSpecSchema } from '../../src/campaign/spec';
import { planWaves } from '../../src/campaign/waves';
import { CampaignStore } from '../../src/store/campaignStore';
import { openDb, type Db } from '../../src/store/db';
import { RevisionStore } from '../../src/store/revisionStore';
import { testEnv } from '../support/env';
import { fastRecord } from '../support/fastRecords';

const run = `u${process.pid % 100_000}`;
const CAMPAIGN = `${run}-camp`;
let db: Db;
let revisions: RevisionStore;
let campaigns: CampaignStore;
/** Apply updates the fake Temporal client received, and the revision number it answers with. */
const applied: Array<{ cloud: string; message: string }> = [];
let nextRevision = 0;

/**
 * Enough of a Temporal client for the campaign activities: no cloud workflow answers its state query
 * (not found), and an apply update is accepted as revision `nextRevision`.
 */
const temporal = {
  workflow: {
    getHandle: (workflowId: string) => ({
      query: async () => {
        throw Object.assign(new Error(`workflow ${workflowId} not found`), { name: 'WorkflowNotFoundError' });
      },
      executeUpdate: async (_update: unknown, options: { args: [{ message: string }] }) => {
        applied.push({ cloud: workflowId.slice('cloud:'.length), message: options.args[0].message });
        return { revision: nextRevision, workflowId: `${workflowId}:r${nextRevision}` };
      },
    }),
  },
} as unknown as Client;

const at = () => new Date().toISOString();

/** A cloud on revision 1 (api v1), then `refused` revisions of api v2 by the campaign, refused as given. */
async function cloudWith(name: string, refused: Array<string[] | undefined>): Promise<void> {
  await revisions.accepted({
    cloud: name,
    number: 1,
    kind: 'apply',
    record: fastRecord(name, { api: { image: 'x/api:v1', ports: [1] } }),
    author: 'jest',
    message: 'deploy',
    workflowId: `cloud:${name}:r1`,
    createdAt: at(),
  });
  await revisions.finished({ cloud: name, number: 1, outcome: 'applied', services: [], finishedAt: at() });
  for (const [i, hosts] of refused.entries()) {
    const number = i + 2;
    await revisions.accepted({
      cloud: name,
      number,
      kind: 'apply',
      record: fastRecord(name, { api: { image: 'x/api:v2', ports: [1] } }),
      author: `campaign:${CAMPAIGN}`,
      message: `campaign ${CAMPAIGN}: patch api to x/api:v2`,
      workflowId: `cloud:${name}:r${number}`,
      createdAt: at(),
    });
    await revisions.finished({
      cloud: name,
      number,
      outcome: 'failed',
      reason: hosts ? `host ${hosts.join(', ')}: no worker took preflightService` : 'image missing',
      services: [],
      ...(hosts && { unreachableHosts: hosts }),
      finishedAt: at(),
    });
  }
}

beforeAll(async () => {
  db = openDb(testEnv('databaseUrl'));
  revisions = new RevisionStore(db);
  campaigns = new CampaignStore(db);
  await cloudWith(`${run}-off`, [['ctl2', 'ctl3']]);
  await cloudWith(`${run}-bad`, [undefined]);
  const spec = CampaignSpecSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Campaign',
    metadata: { name: CAMPAIGN },
    spec: { clouds: { names: [`${run}-off`, `${run}-bad`] }, service: 'api', image: 'x/api:v2' },
  });
  await campaigns.begin({
    name: CAMPAIGN,
    service: 'api',
    image: 'x/api:v2',
    spec,
    startedBy: 'jest',
    startedAt: at(),
    workflowId: `campaign:${CAMPAIGN}`,
    phase: 'running',
  });
  await campaigns.plan(CAMPAIGN, [`${run}-bad`, `${run}-off`], [], planWaves(2, spec.spec.waves));
  for (const cloud of [`${run}-bad`, `${run}-off`])
    await campaigns.setOutcome(CAMPAIGN, { cloud, status: 'running', attempts: 1 });
});

afterAll(async () => {
  await db?.close();
});

const activities = () => createCampaignActivities({ temporal: () => temporal, db: () => db });
const record = (cloud: string) => ({
  campaignId: CAMPAIGN,
  kind: 'patch' as const,
  base: { cloud, revision: 2, fromRevision: 1, attempts: 1 },
});

test('the hosts are written with the outcome and read back; every other revision has none', async () => {
  const rows = await db.query<{ cloud: string; number: number; unreachable_hosts: string[] | null }>(
    `SELECT cloud, number, unreachable_hosts FROM revisions WHERE cloud LIKE $1 ORDER BY cloud, number`,
    [`${run}-%`],
  );
  expect(rows).toEqual([
    { cloud: `${run}-bad`, number: 1, unreachable_hosts: null },
    { cloud: `${run}-bad`, number: 2, unreachable_hosts: null },
    { cloud: `${run}-off`, number: 1, unreachable_hosts: null },
    { cloud: `${run}-off`, number: 2, unreachable_hosts: ['ctl2', 'ctl3'] },
  ]);
  expect((await revisions.revision(`${run}-off`, 2))?.unreachableHosts).toEqual(['ctl2', 'ctl3']);
  expect(await revisions.revision(`${run}-bad`, 2)).not.toHaveProperty('unreachableHosts');
  // The read view keeps its columns.
  const view = await db.query('SELECT * FROM patchbay_revisions WHERE cloud = $1 AND number = 2', [
    `${run}-off`,
  ]);
  expect(Object.keys(view[0]!)).not.toContain('unreachable_hosts');
});

test("the campaign's outcome check returns the hosts and leaves the cloud's row to the workflow", async () => {
  const off = await activities().cloudChangeOutcome({
    cloud: `${run}-off`,
    revision: 2,
    record: record(`${run}-off`),
  });
  expect(off).toEqual({
    outcome: 'failed',
    reason: 'host ctl2, ctl3: no worker took preflightService',
    unreachableHosts: ['ctl2', 'ctl3'],
  });
  expect(await campaigns.outcome(CAMPAIGN, `${run}-off`)).toEqual({
    cloud: `${run}-off`,
    status: 'running',
    attempts: 1,
  });
  // Any other failure: the check writes the cloud's outcome, as before.
  const bad = await activities().cloudChangeOutcome({
    cloud: `${run}-bad`,
    revision: 2,
    record: record(`${run}-bad`),
  });
  expect(bad).toEqual({ outcome: 'failed', reason: 'image missing' });
  expect(await campaigns.outcome(CAMPAIGN, `${run}-bad`)).toMatchObject({
    status: 'failed',
    revision: 2,
    reason: 'image missing',
  });
});

test('a try after a refused revision sends a new one; a retried submit of the same try adopts it', async () => {
  const submit = {
    campaignId: CAMPAIGN,
    cloud: `${run}-off`,
    service: 'api',
    kind: 'patch',
    image: 'x/api:v2',
  } as const;
  // Without `after` (a crash retry of the first try): the campaign's revision 2 is adopted.
  expect(await activities().submitCloudChange(submit)).toEqual({
    kind: 'accepted',
    revision: 2,
    fromRevision: 1,
  });
  expect(applied).toEqual([]);
  // The next try, after revision 2 was refused: a new apply goes out.
  nextRevision = 3;
  expect(await activities().submitCloudChange({ ...submit, after: 2 })).toEqual({
    kind: 'accepted',
    revision: 3,
    fromRevision: 1,
  });
  expect(applied).toEqual([{ cloud: `${run}-off`, message: `campaign ${CAMPAIGN}: patch api to x/api:v2` }]);
});

test('finishing a revision again writes its hosts again (idempotent), and without them clears them', async () => {
  const cloud = `${run}-off`;
  const finished = {
    cloud,
    number: 2,
    outcome: 'failed' as const,
    reason: 'r',
    services: [],
    unreachableHosts: ['ctl2', 'ctl3'],
    finishedAt: at(),
  };
  await revisions.finished(finished);
  expect((await revisions.revision(cloud, 2))?.unreachableHosts).toEqual(['ctl2', 'ctl3']);
  await revisions.finished({ ...finished, unreachableHosts: [] });
  expect(await revisions.revision(cloud, 2)).not.toHaveProperty('unreachableHosts');
});
