// Fleet campaigns on 12 real clouds (fixture services on the local Docker engine, real Temporal):
// canary + waves, the failure budget halting and rolling back, approval, pause/resume and a malformed
// payload from the `temporal` CLI (a real external client), abort mid-wave, busy clouds, and a worker
// killed mid-campaign. Clouds c10..c12 cannot run v2/v3 (their environment makes those versions
// fail the health gate), so a campaign that reaches them fails there.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { CampaignClient } from '../../src/client/campaignClient';
import { PatchbayClient } from '../../src/client/patchbayClient';
import { TEMPORAL_BIN, temporalConfig } from '../../src/lib/config';
import { CampaignSpecSchema, type CampaignSpecInput } from '../../src/campaign/spec';
import { planWaves } from '../../src/campaign/waves';
import type { LegacyCarriedCampaignState } from '../../src/workflows/campaignCarry';
import type { CampaignProgress } from '../../src/workflows/campaignTypes';
import { testEnv } from '../support/env';
import { saveHistories } from '../support/histories';
import { FIXTURE } from '../support/fixtures';
import {
  fixtureRecord,
  removeCloudContainers,
  runCli,
  servedVersions,
  snapshot,
  startWorker,
  waitFor,
  type WorkerProcess,
} from '../support/harness';
import { CloudRecordSchema } from '../../src/record/schema';
import { AuditStore } from '../../src/store/auditStore';
import { CampaignStore } from '../../src/store/campaignStore';
import { openDb, type Db } from '../../src/store/db';

jest.setTimeout(300_000);

const QUEUE = 'campaign-it';
const run = `${process.pid % 10_000}`;
const name = (i: number) => `fl${run}-c${String(i).padStart(2, '0')}`;
const port = (i: number) => 18700 + i;
const CLOUDS = Array.from({ length: 12 }, (_, k) => k + 1);
const FAILING = [10, 11, 12];
let worker: WorkerProcess;
let client: PatchbayClient;
let campaigns: CampaignClient;
let db: Db;
let uniq = 0;

/** The revisions a campaign made on a cloud, from the record store. */
async function campaignRevisions(cloud: string, id: string): Promise<number> {
  const rows = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM revisions WHERE cloud = $1 AND author = $2',
    [cloud, `campaign:${id}`],
  );
  return Number(rows[0]!.n);
}

/** Outcomes as rows of campaign_clouds (through the documented view), by short cloud name. */
async function storedStatuses(id: string): Promise<Record<string, string>> {
  const rows = await db.query<{ cloud: string; status: string }>(
    'SELECT cloud, status FROM patchbay_campaign_outcomes WHERE campaign = $1 ORDER BY position',
    [id],
  );
  return Object.fromEntries(rows.map((r) => [r.cloud.replace(/^fl\d+-/, ''), r.status]));
}

const record = (
  i: number,
  image: string,
  extra: { env?: Record<string, string>; bake?: string; timeout?: string } = {},
) =>
  CloudRecordSchema.parse(
    fixtureRecord(name(i), {
      api: {
        image,
        ports: [port(i)],
        timeout: extra.timeout ?? '3s',
        bake: extra.bake ?? '0s',
        env: { ...(FAILING.includes(i) ? { UNHEALTHY_VERSIONS: 'v2 v3' } : {}), ...extra.env },
      },
    }),
  );

function spec(clouds: number[], image: string, rest: Partial<CampaignSpecInput['spec']> = {}) {
  uniq++;
  return CampaignSpecSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Campaign',
    metadata: { name: `fl${run}-k${uniq}` },
    spec: { clouds: { names: clouds.map(name) }, service: 'api', image, ...rest },
  });
}

async function finished(id: string): Promise<CampaignProgress> {
  return waitFor(
    `campaign ${id} to finish`,
    async () => {
      const p = await campaigns.progress(id);
      return ['completed', 'halted', 'aborted'].includes(p.phase) && p;
    },
    240_000,
    250,
  );
}

const statuses = (p: CampaignProgress) =>
  Object.fromEntries(Object.values(p.outcomes).map((o) => [o.cloud.replace(/^fl\d+-/, ''), o.status]));

const temporal = (args: string[]) =>
  promisify(execFile)(TEMPORAL_BIN, [...args, '--address', testEnv('address')]).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );

beforeAll(async () => {
  worker = await startWorker(QUEUE);
  client = await PatchbayClient.connect(
    temporalConfig({ TEMPORAL_ADDRESS: testEnv('address'), PATCHBAY_TASK_QUEUE: QUEUE }),
  );
  db = openDb(testEnv('databaseUrl'));
  campaigns = new CampaignClient(client, undefined, db);
  await Promise.all(
    CLOUDS.map(async (i) => {
      await removeCloudContainers(name(i));
      const accepted = await client.apply(record(i, FIXTURE.v1), { message: 'deploy', author: 'jest' });
      expect((await client.waitForChange(name(i), accepted)).outcome).toBe('applied');
    }),
  );
});

afterAll(async () => {
  await client?.close();
  await db?.close();
  await worker?.stop();
  for (const i of CLOUDS) await removeCloudContainers(name(i));
});

test('canary, then waves: every cloud patched through its own revision, visible by search attribute', async () => {
  const s = spec([1, 2, 3, 4, 5, 6], FIXTURE.v2, {
    waves: [{ name: 'canary', size: 1 }, { size: '50%' }, { size: 'rest' }],
    concurrency: 2,
    bake: '1s',
  });
  const file = path.join(os.tmpdir(), `${s.metadata.name}.yaml`);
  writeFileSync(file, stringify(s));
  const out = await runCli(['campaign', 'start', file, '--watch', '--json'], QUEUE);
  expect(out.code).toBe(0);
  const p = JSON.parse(out.stdout) as CampaignProgress;
  expect(p.phase).toBe('completed');
  expect(p.waves.map((w) => [w.name, w.end - w.start])).toEqual([
    ['canary', 1],
    ['wave 2', 3],
    ['wave 3', 2],
  ]);
  expect(Object.values(statuses(p))).toEqual(Array(6).fill('patched'));
  expect(await servedVersions([1, 2, 3, 4, 5, 6].map(port))).toEqual(Array(6).fill('v2'));
  // Each cloud got exactly one new revision, authored by the campaign.
  for (const i of [1, 2, 3, 4, 5, 6]) expect(await campaignRevisions(name(i), s.metadata.name)).toBe(1);
  // Every outcome is a row in the store, in launch order with its wave; the campaign's row has its phase.
  expect(Object.values(await storedStatuses(s.metadata.name))).toEqual(Array(6).fill('patched'));
  const waves = await db.query<{ wave: number }>(
    'SELECT wave FROM campaign_clouds WHERE campaign = $1 ORDER BY position',
    [s.metadata.name],
  );
  expect(waves.map((r) => r.wave)).toEqual([0, 1, 1, 1, 2, 2]);
  expect(await new CampaignStore(db).get(s.metadata.name)).toMatchObject({
    phase: 'completed',
    service: 'api',
  });
  const listedCli = await runCli(['campaign', 'list', '--json'], QUEUE);
  expect(listedCli.code).toBe(0);
  expect(JSON.parse(listedCli.stdout)).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ id: s.metadata.name, phase: 'completed', totals: { patched: 6 } }),
    ]),
  );
  // The Web UI finds every per-cloud workflow by CampaignId (and Cloud).
  const listed = await waitFor('search attributes to be indexed', async () => {
    const r = await temporal([
      'workflow',
      'list',
      '--query',
      `CampaignId = '${s.metadata.name}'`,
      '-o',
      'json',
    ]);
    const rows = JSON.parse(r.stdout || '[]') as unknown[];
    return rows.length === 7 && rows;
  });
  expect(listed).toHaveLength(7); // the campaign and its 6 clouds
  // Again: every cloud is already at the target, nothing is touched.
  const before = await snapshot(name(1));
  const again = spec([1, 2], FIXTURE.v2);
  await campaigns.start(again, 'jest');
  expect(Object.values(statuses(await finished(again.metadata.name)))).toEqual([
    'already-at-target',
    'already-at-target',
  ]);
  expect(await snapshot(name(1))).toEqual(before);
});

test('the failure budget halts the campaign and rolls back the clouds it patched', async () => {
  // c07, c08 (healthy) in wave 1; c10 fails in wave 2; c11, c12 are never started.
  const s = spec([7, 8, 10, 11, 12], FIXTURE.v3, {
    waves: [{ size: 2 }, { size: 'rest' }],
    concurrency: 1,
    failureBudget: { perWave: 0, total: 0, onExceeded: 'rollback' },
  });
  await campaigns.start(s, 'jest');
  const p = await finished(s.metadata.name);
  expect(p.phase).toBe('halted');
  expect(p.haltReason).toMatch(/failure budget exceeded: 1 failed in wave 2/);
  expect(statuses(p)).toEqual({
    c07: 'reverted',
    c08: 'reverted',
    c10: 'rolled-back',
    c11: 'not-started',
    c12: 'not-started',
  });
  expect(p.outcomes[name(10)]!.reason).toMatch(/health gate/);
  // Pollers of big campaigns ask for less: the clouds needing attention, or none, with the same totals.
  const attention = await campaigns.progress(s.metadata.name, { outcomes: 'attention' });
  expect(statuses(attention)).toEqual({ c07: 'reverted', c08: 'reverted', c10: 'rolled-back' });
  const none = await campaigns.progress(s.metadata.name, { outcomes: 'none' });
  expect(none.outcomes).toEqual({});
  expect(none.totals).toEqual(p.totals);
  expect(p.totals).toEqual({ reverted: 2, 'rolled-back': 1, 'not-started': 2 });
  expect(await storedStatuses(s.metadata.name)).toEqual(statuses(p));
  const stored = await new CampaignStore(db).get(s.metadata.name);
  expect(stored).toMatchObject({ phase: 'halted' });
  expect(stored!.haltReason).toMatch(/failure budget exceeded/);
  expect(stored!.finishedAt).not.toBeNull();
  // The campaign's per-cloud outcomes are not in the workflow: its query answers waves and totals.
  const fromQuery = await client.client.workflow
    .getHandle(`campaign:${s.metadata.name}`)
    .query<CampaignProgress>('patchbay.campaign.progress');
  expect(fromQuery.outcomes).toEqual({});
  expect(fromQuery.totals).toEqual(p.totals);
  expect(await servedVersions([7, 8, 10, 11, 12].map(port))).toEqual(Array(5).fill('v1'));
  await saveHistories([
    { workflowId: `campaign:${s.metadata.name}`, file: 'campaign-halted-rollback.json' },
    { workflowId: `campaign:${s.metadata.name}:${name(7)}`, file: 'campaign-cloud.json' },
    { workflowId: `campaign:${s.metadata.name}:${name(7)}:revert`, file: 'campaign-cloud-revert.json' },
  ]);
});

test('approval gate, pause and resume from the temporal CLI; a malformed payload is rejected and changes nothing', async () => {
  const s = spec([1, 2, 3, 4], FIXTURE.v3, {
    waves: [{ size: 1 }, { size: 'rest', approval: true }],
    concurrency: 1,
  });
  const id = s.metadata.name;
  const wf = `campaign:${id}`;
  await campaigns.start(s, 'jest');
  await waitFor(
    'the approval gate',
    async () => (await campaigns.progress(id)).phase === 'awaiting-approval',
    60_000,
  );
  expect(statuses(await campaigns.progress(id))).toEqual({ c01: 'patched' });

  const update = (updateName: string, input: string) =>
    temporal(['workflow', 'update', 'execute', '--workflow-id', wf, '--name', updateName, '--input', input]);
  const bad = await update('patchbay.campaign.approve', '{"by":"ops-bot","wave":"two"}');
  expect(bad.code).not.toBe(0);
  expect(`${bad.stdout}${bad.stderr}`).toMatch(
    /invalid approve payload: wave: .*expected number.*got .{0,2}two/,
  );
  const unknownField = await update('patchbay.campaign.pause', '{"by":"ops-bot","until":"tomorrow"}');
  expect(`${unknownField.stdout}${unknownField.stderr}`).toMatch(
    /invalid pause payload: .*unknown field .{0,2}until/,
  );
  expect((await campaigns.progress(id)).phase).toBe('awaiting-approval');
  expect((await campaigns.progress(id)).paused).toBeNull();

  expect((await update('patchbay.campaign.pause', '{"by":"ops-bot","reason":"change freeze"}')).code).toBe(0);
  expect((await update('patchbay.campaign.approve', '{"by":"ops-bot","wave":2}')).code).toBe(0);
  await new Promise((r) => setTimeout(r, 2_000));
  const paused = await campaigns.progress(id);
  expect(paused.paused).toMatchObject({ by: 'ops-bot', reason: 'change freeze' });
  expect(statuses(paused)).toEqual({ c01: 'patched' }); // approved, but paused: nothing started
  const query = await temporal([
    'workflow',
    'query',
    '--workflow-id',
    wf,
    '--name',
    'patchbay.campaign.progress',
    '-o',
    'json',
  ]);
  expect(query.stdout).toContain('"phase": "running"');
  const query2 = (input: string) =>
    temporal([
      'workflow',
      'query',
      '--workflow-id',
      wf,
      '--name',
      'patchbay.campaign.progress',
      '--input',
      input,
      '-o',
      'json',
    ]);
  const light = await query2('{"outcomes":"none"}');
  expect(light.code).toBe(0);
  expect(light.stdout).toMatch(/"outcomes": \{\}/);
  const badQuery = await query2('{"outcomes":"some"}');
  expect(badQuery.code).not.toBe(0);
  expect(`${badQuery.stdout}${badQuery.stderr}`).toMatch(
    /invalid progress payload: outcomes: .*got .{0,2}some/,
  );

  expect((await update('patchbay.campaign.resume', '{"by":"ops-bot"}')).code).toBe(0);
  const p = await finished(id);
  expect(p.phase).toBe('completed');
  expect(statuses(p)).toEqual({ c01: 'patched', c02: 'patched', c03: 'patched', c04: 'patched' });
  // Each accepted decision is in the audit log once: who, what, why.
  const audit = await new AuditStore(db).list('campaign', id);
  expect(audit.map((a) => [a.actor, a.action, a.reason])).toEqual([
    ['ops-bot', 'pause', 'change freeze'],
    ['ops-bot', 'approve', ''],
    ['ops-bot', 'resume', ''],
  ]);
  expect(audit[1]!.detail).toEqual({ wave: 2 });
  expect(audit.every((a) => a.key.startsWith(`${wf}:`))).toBe(true);
  await saveHistories([{ workflowId: wf, file: 'campaign-approval-audit.json' }]);
});

test('abort mid-wave: in-flight clouds finish, no new cloud starts, each cloud has exactly one outcome', async () => {
  // A 2 s bake per cloud makes each patch last long enough to abort in the middle.
  for (const i of [5, 6, 7, 8, 9]) {
    const accepted = await client.apply(record(i, i <= 6 ? FIXTURE.v2 : FIXTURE.v1, { bake: '2s' }), {
      message: 'slower bake',
      author: 'jest',
    });
    await client.waitForChange(name(i), accepted);
  }
  const s = spec([5, 6, 7, 8, 9], FIXTURE.v3, { concurrency: 1 });
  const id = s.metadata.name;
  await campaigns.start(s, 'jest');
  await waitFor(
    'a first cloud patched',
    async () => ((await campaigns.progress(id)).totals.patched ?? 0) >= 1,
    60_000,
  );
  const out = await runCli(['campaign', 'abort', id, '--reason', 'CVE re-scored'], QUEUE);
  expect(out.code).toBe(0);
  expect(out.stdout).toMatch(/aborting/);
  const p = await finished(id);
  expect(p.phase).toBe('aborted');
  const st = Object.values(statuses(p));
  expect(st).toHaveLength(5);
  expect(st.filter((x) => x === 'patched').length).toBeGreaterThanOrEqual(1);
  expect(st.filter((x) => x === 'not-started').length).toBeGreaterThanOrEqual(1);
  expect(st.every((x) => x === 'patched' || x === 'not-started')).toBe(true);
  expect(await storedStatuses(id)).toEqual(statuses(p));
  const audit = await new AuditStore(db).list('campaign', id);
  expect(audit).toHaveLength(1);
  expect(audit[0]).toMatchObject({
    action: 'abort',
    reason: 'CVE re-scored',
    detail: { inFlight: 'finish' },
  });
  // A finished campaign refuses further control: exit 2, clear message.
  const late = await runCli(['campaign', 'pause', id], QUEUE);
  expect(late.code).toBe(2);
  expect(late.stderr).toMatch(/has aborted; nothing to pause/);
});

test('a cloud busy with another change is skipped, or retried until it is free', async () => {
  // c09 is made busy by a change that takes ~6 s (a slow-starting image).
  const slow = await client.apply(
    record(9, FIXTURE.slow, { env: { SLOW_START: '4' }, bake: '2s', timeout: '30s' }),
    {
      message: 'slow change',
      author: 'someone-else',
    },
  );
  const skip = spec([9], FIXTURE.v2, { busy: { action: 'skip', retries: 0, interval: '1s' } });
  await campaigns.start(skip, 'jest');
  const skipped = await finished(skip.metadata.name);
  expect(statuses(skipped)).toEqual({ c09: 'skipped-busy' });
  expect(skipped.outcomes[name(9)]!.reason).toMatch(/by someone-else/);

  const retry = spec([9], FIXTURE.v2, { busy: { action: 'retry', retries: 30, interval: '1s' } });
  await campaigns.start(retry, 'jest');
  const p = await finished(retry.metadata.name);
  expect((await client.waitForChange(name(9), slow)).outcome).toBe('applied');
  expect(statuses(p)).toEqual({ c09: 'patched' });
  expect(p.outcomes[name(9)]!.attempts).toBeGreaterThan(1);
  expect(await servedVersions([port(9)])).toEqual(['v2']);
});

test('kill -9 of the worker mid-campaign: it resumes, every cloud ends with one outcome and one revision', async () => {
  const s = spec([1, 2, 3, 4, 5, 6], FIXTURE.v1, { concurrency: 2 });
  const id = s.metadata.name;
  // A tiny history limit: the campaign continues as new several times on the way.
  const small = new CampaignClient(client, 12, db);
  await small.start(s, 'jest');
  await waitFor(
    'two clouds patched',
    async () => ((await campaigns.progress(id)).totals.patched ?? 0) >= 2,
    60_000,
  );
  await worker.kill();
  worker = await startWorker(QUEUE);
  const p = await finished(id);
  expect(p.phase).toBe('completed');
  expect(Object.values(statuses(p))).toEqual(Array(6).fill('patched'));
  expect(p.runs).toBeGreaterThan(0);
  expect(await servedVersions([1, 2, 3, 4, 5, 6].map(port))).toEqual(Array(6).fill('v1'));
  expect(await storedStatuses(id)).toEqual(statuses(p));
  for (const i of [1, 2, 3, 4, 5, 6]) {
    expect(await campaignRevisions(name(i), id)).toBe(1);
    // No duplicate or orphaned containers: exactly the one instance, running.
    const containers = [...(await snapshot(name(i))).values()];
    expect(containers.map((c) => c.running)).toEqual([true]);
  }
});

test('upgrade in place: a campaign from before the store continues as new into this code, which moves it into the store', async () => {
  // What a campaign run by the previous code carried at a continue-as-new: every cloud and outcome.
  const s = spec([3, 4], FIXTURE.v2, { waves: [{ size: 1 }, { size: 'rest' }] });
  const id = s.metadata.name;
  const legacy: LegacyCarriedCampaignState = {
    spec: { ...s, spec: { ...s.spec, clouds: { ...s.spec.clouds, names: [] } } },
    startedBy: 'jest',
    startedAt: new Date().toISOString(),
    clouds: [name(3), name(4)],
    waves: planWaves(2, s.spec.waves),
    next: 1,
    outcomes: { [name(3)]: { status: 'patched', revision: 9, fromRevision: 8, attempts: 1 } },
    approved: [],
    baked: [0],
    paused: null,
    abort: null,
    haltReason: null,
    phase: 'running',
    runs: 1,
    rollbackDone: false,
    failures: { perWave: [], total: 0 },
  };
  await client.client.workflow.start('campaignWorkflow', {
    workflowId: `campaign:${id}`,
    taskQueue: QUEUE,
    args: [{ spec: null, startedBy: 'jest', state: legacy }],
  });
  const p = await finished(id);
  expect(p.phase).toBe('completed');
  expect(p.totals).toEqual({ patched: 2 });
  expect(statuses(p)).toEqual({ c03: 'patched', c04: 'patched' });
  // The earlier outcome came over as it was; the new one was made by this code.
  expect(await new CampaignStore(db).outcome(id, name(3))).toMatchObject({ revision: 9, fromRevision: 8 });
  expect(await campaignRevisions(name(4), id)).toBe(1);
  expect(await campaignRevisions(name(3), id)).toBe(0);
  expect(await servedVersions([port(4)])).toEqual(['v2']);
});
