// Fast tests of a fleet campaign (src/workflows/campaign.ts + campaignCloud.ts): real cloud workflows
// on the scripted runtime, the record-store and campaign-store fakes, the time-skipping test server.
// Waves in launch order, each finished (and baked) before the next; the failure budget (per wave and
// in total, halt or roll back); approval gates; pause and resume; abort (finish or roll back);
// continue-as-new keeping all of that; control payloads validated.
// Observables: what each cloud runs (the fake runtime's containers), the revisions a campaign made
// (the store fake), the campaign's rows and event log (fakeCampaign.ts), its query and result.
import {
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { CampaignSpecSchema, type CampaignSpec, type CampaignSpecInput } from '../../../src/campaign/spec';
import { campaignWorkflow, cloudWorkflow } from '../../../src/workflows';
import { campaignCloudWorkflowId, campaignWorkflowId } from '../../../src/workflows/campaignIds';
import { OUTCOME } from '../../../src/workflows/searchAttributes';
import {
  abortCampaignUpdate,
  approveCampaignUpdate,
  campaignProgressQuery,
  pauseCampaignUpdate,
  resumeCampaignUpdate,
} from '../../../src/workflows/campaignMessages';
import type { CampaignProgress } from '../../../src/workflows/campaignTypes';
import { cloudWorkflowId } from '../../../src/workflows/ids';
import { applyUpdate } from '../../../src/workflows/messages';
import type { ChangeResult } from '../../../src/workflows/types';
import { startCampaignEnv, type CampaignEnv } from '../../support/campaignEnv';
import type { LoggedEvent } from '../../support/fakeCampaign';
import { fastRecordInput } from '../../support/fastRecords';
import { eventually } from '../../support/timeSkipping';

let fast: CampaignEnv;
beforeAll(async () => {
  fast = await startCampaignEnv();
}, 120_000);
afterAll(() => fast?.shutdown(), 30_000);

const V1 = 'x/api:v1';
const V2 = 'x/api:v2';
type Handle = WorkflowHandle<typeof campaignWorkflow>;

let fleets = 0;
/**
 * n clouds whose api (one instance) runs v1 as their revision 1, named f<k>-c01, f<k>-c02, …: a
 * campaign launches its clouds in name order, so this is also their launch order.
 */
async function fleet(n: number): Promise<string[]> {
  const k = ++fleets;
  const names = Array.from({ length: n }, (_, i) => `f${k}-c${String(i + 1).padStart(2, '0')}`);
  await Promise.all(
    names.map(async (cloud) => {
      const accepted = await fast.client.workflow.executeUpdateWithStart(applyUpdate, {
        args: [
          {
            record: fastRecordInput(cloud, { api: { image: V1, ports: [8101] } }),
            message: 'deploy',
            author: 'jest',
          },
        ],
        startWorkflowOperation: new WithStartWorkflowOperation(cloudWorkflow, {
          workflowId: cloudWorkflowId(cloud),
          taskQueue: fast.taskQueue,
          args: [{ name: cloud }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
      const done: ChangeResult = await fast.client.workflow.getHandle(accepted.workflowId).result();
      expect(done.outcome).toBe('applied');
    }),
  );
  return names;
}

let specs = 0;
function spec(clouds: string[], rest: Partial<CampaignSpecInput['spec']> = {}): CampaignSpec {
  return CampaignSpecSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Campaign',
    metadata: { name: `camp-${++specs}` },
    spec: { clouds: { names: clouds }, service: 'api', image: V2, ...rest },
  });
}

async function start(s: CampaignSpec, maxHistoryEvents?: number): Promise<Handle> {
  return fast.client.workflow.start(campaignWorkflow, {
    taskQueue: fast.taskQueue,
    workflowId: campaignWorkflowId(s.metadata.name),
    args: [{ spec: s, startedBy: 'jest', maxHistoryEvents }],
  });
}

const progress = (h: Handle): Promise<CampaignProgress> => h.query(campaignProgressQuery);

/**
 * Polls the campaign's query until `ok` holds, advancing the server's clock between looks (the
 * per-cloud children's polls pass; a minute at a time through a bake). Never by awaiting the result: a campaign waiting for an operator
 * would let the test server skip to its end of time.
 */
function until(h: Handle, what: string, ok: (p: CampaignProgress) => boolean): Promise<CampaignProgress> {
  return eventually(what, async () => {
    const p = await progress(h);
    if (ok(p)) return p;
    await fast.env.sleep(p.phase === 'baking' ? 60_000 : 500);
    return undefined;
  });
}

/** What a cloud's api runs now (its active container in the fake runtime). */
function runs(cloud: string): string | undefined {
  return [...fast.runtime.containers.values()].find(
    (c) => c.cloud === cloud && c.service === 'api' && c.running && !c.name.includes('--retired'),
  )?.image;
}

/** The revisions a campaign made on a cloud (store fake): kind and outcome, oldest first. */
const revisionsBy = (id: string, cloud: string) =>
  fast.store
    .rows(cloud)
    .filter((r) => r.author === `campaign:${id}`)
    .map((r) => `${r.kind} ${r.outcome}`);

/**
 * The campaign's launches in order, from its history: one child per cloud, "patch <cloud>" or
 * "revert <cloud>" (ids campaign:<id>:<cloud>[:revert]).
 */
async function launches(h: Handle): Promise<string[]> {
  const prefix = `${h.workflowId}:`;
  const { events } = await h.fetchHistory();
  return (events ?? []).flatMap((e) => {
    const child = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    if (!child?.startsWith(prefix)) return [];
    const [cloud, revert] = child.slice(prefix.length).split(':');
    return [`${revert ? 'revert' : 'patch'} ${cloud}`];
  });
}

const log = (id: string): LoggedEvent[] => fast.campaigns.log(id);
/**
 * Clouds the campaign sent a patch (or a revert), from event `from` on, sorted by name (clouds
 * launched together send theirs in any order; the launch order is in launches()).
 */
const sent = (id: string, change: 'patch' | 'revert', from = 0): string[] =>
  log(id)
    .flatMap((e) =>
      e.seq >= from && e.kind === 'submit' && e.change === change && e.attempt === 1 ? [e.cloud] : [],
    )
    .sort();
const patchesSent = (id: string, from = 0) => sent(id, 'patch', from);
const revertsSent = (id: string) => sent(id, 'revert');
const phases = (id: string) => log(id).flatMap((e) => (e.kind === 'phase' ? [e.phase] : []));
const eventOf = (id: string, kind: 'submit' | 'outcome', cloud: string): LoggedEvent => {
  const found = log(id).find((e) => e.kind === kind && 'cloud' in e && e.cloud === cloud);
  if (!found) throw new Error(`no ${kind} event for ${cloud}`);
  return found;
};

const audit = (id: string) =>
  [...fast.store.audit.values()]
    .filter((a) => a.targetKind === 'campaign' && a.target === id)
    .map((a) => [a.actor, a.action, a.reason, a.detail]);

/** What a workflow says in its current details (the Web UI's workflow page), by Temporal's built-in query. */
async function currentDetails(handle: { query: <R>(name: string) => Promise<R> }): Promise<string> {
  const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return metadata.currentDetails ?? '';
}

describe('campaign workflow (time-skipping, real cloud workflows, in-memory runtime and stores)', () => {
  test('waves in launch order: each finishes, then bakes, before the next one starts', async () => {
    const clouds = await fleet(7);
    const s = spec(clouds, {
      waves: [{ name: 'canary', size: 1 }, { size: '50%' }, { size: 'rest' }],
      concurrency: 2,
      bake: '10m',
    });
    const id = s.metadata.name;
    const wall = Date.now();
    const handle = await start(s);
    const result = await handle.result();
    const wallMs = Date.now() - wall;

    expect(result).toEqual({ id, phase: 'completed', totals: { patched: 7 }, haltReason: null });
    const p = await progress(handle);
    // 1, then 50 % of 7 rounded up, then the rest; every cloud of every wave patched.
    expect(p.waves.map((w) => [w.name, w.start, w.end, w.counts])).toEqual([
      ['canary', 0, 1, { patched: 1 }],
      ['wave 2', 1, 5, { patched: 4 }],
      ['wave 3', 5, 7, { patched: 2 }],
    ]);
    expect(fast.campaigns.rows(id).map((r) => [r.cloud, r.wave, r.status])).toEqual(
      clouds.map((c, i) => [c, i < 1 ? 0 : i < 5 ? 1 : 2, 'patched']),
    );
    // Launched in order, each once; every cloud runs v2 through one revision of its own, by the campaign.
    expect(await launches(handle)).toEqual(clouds.map((c) => `patch ${c}`));
    expect(patchesSent(id)).toEqual(clouds);
    for (const cloud of clouds) {
      expect(runs(cloud)).toBe(V2);
      expect(revisionsBy(id, cloud)).toEqual(['apply applied']);
    }
    // A wave's last outcome comes before the next wave's first launch, 10 minutes of bake apart.
    const waves = [clouds.slice(0, 1), clouds.slice(1, 5), clouds.slice(5)];
    for (let w = 0; w + 1 < waves.length; w++) {
      const lastDone = waves[w]!.map((c) => eventOf(id, 'outcome', c));
      const nextStarts = waves[w + 1]!.map((c) => eventOf(id, 'submit', c));
      const doneSeq = Math.max(...lastDone.map((e) => e.seq));
      const startSeq = Math.min(...nextStarts.map((e) => e.seq));
      expect(doneSeq).toBeLessThan(startSeq);
      const gap = Math.min(...nextStarts.map((e) => e.at)) - Math.max(...lastDone.map((e) => e.at));
      expect(gap).toBeGreaterThanOrEqual(10 * 60_000);
    }
    expect(phases(id)).toEqual(['running', 'baking', 'running', 'baking', 'running', 'completed']);
    expect(fast.campaigns.campaigns.get(id)).toMatchObject({ phase: 'completed', haltReason: null });
    expect(wallMs).toBeLessThan(30_000); // two 10-minute bakes, skipped
  }, 60_000);

  test('at most `concurrency` clouds are in flight; the next starts when one finishes', async () => {
    const clouds = await fleet(4);
    const held = clouds.map((c) => fast.campaigns.hold(c));
    const s = spec(clouds, { concurrency: 2 });
    const id = s.metadata.name;
    const handle = await start(s);
    await until(handle, 'two clouds in flight', (p) => p.inFlight.length === 2);
    await fast.env.sleep(60_000);
    const p = await progress(handle);
    expect(p.inFlight).toEqual(clouds.slice(0, 2));
    expect(p.totals).toEqual({ running: 2, pending: 2 });
    expect(patchesSent(id)).toEqual(clouds.slice(0, 2));

    held[0]!(); // the first finishes: exactly one more starts
    await until(handle, `${clouds[2]} in flight`, (q) => q.inFlight.includes(clouds[2]!));
    await fast.env.sleep(60_000);
    expect((await progress(handle)).inFlight).toEqual([clouds[1], clouds[2]]);
    expect(patchesSent(id)).toEqual(clouds.slice(0, 3));

    held.forEach((release) => release());
    expect((await handle.result()).totals).toEqual({ patched: 4 });
  }, 60_000);

  test('failure budget 0 (the default): the first failed cloud halts the campaign; later clouds are never touched', async () => {
    const clouds = await fleet(5);
    // c02's new container never passes its health gate: its revision rolls back.
    fast.runtime.fail({ op: 'waitHealthy', cloud: clouds[1], times: 1 });
    const s = spec(clouds, { waves: [{ size: 2 }, { size: 'rest' }], concurrency: 1 });
    const id = s.metadata.name;
    const result = await (await start(s)).result();

    expect(result.phase).toBe('halted');
    expect(result.haltReason).toMatch(
      new RegExp(
        `^failure budget exceeded: 1 failed in wave 1 \\(allowed 0\\), 1 in total \\(allowed 0\\); last: ${clouds[1]}: .*waitHealthy failed`,
      ),
    );
    expect(result.totals).toEqual({ patched: 1, 'rolled-back': 1, 'not-started': 3 });
    expect(fast.campaigns.statuses(id)).toEqual({
      [clouds[0]!]: 'patched',
      [clouds[1]!]: 'rolled-back',
      [clouds[2]!]: 'not-started',
      [clouds[3]!]: 'not-started',
      [clouds[4]!]: 'not-started',
    });
    expect(patchesSent(id)).toEqual(clouds.slice(0, 2));
    expect(runs(clouds[0]!)).toBe(V2);
    expect(revisionsBy(id, clouds[1]!)).toEqual(['apply rolled-back']);
    for (const cloud of clouds.slice(1)) expect(runs(cloud)).toBe(V1);
    for (const cloud of clouds.slice(2)) {
      expect(revisionsBy(id, cloud)).toEqual([]);
      expect(fast.runtime.calls(cloud, 'startInstance')).toHaveLength(1); // only its own deploy
    }
    expect(fast.campaigns.campaigns.get(id)).toMatchObject({
      phase: 'halted',
      haltReason: result.haltReason,
    });
    expect(phases(id)).not.toContain('rolling-back');
    // Each cloud's workflow says how it ended in its Outcome search attribute and its details.
    const cloudOutcome = async (cloud: string) => {
      const handle = fast.client.workflow.getHandle(campaignCloudWorkflowId(id, cloud, false));
      return [(await handle.describe()).typedSearchAttributes.get(OUTCOME), await currentDetails(handle)];
    };
    expect(await cloudOutcome(clouds[0]!)).toEqual([
      'patched',
      expect.stringMatching(/^patch of .*: patched \(revision 2\)$/),
    ]);
    const campaignHandle = fast.client.workflow.getHandle(campaignWorkflowId(id));
    expect((await campaignHandle.describe()).typedSearchAttributes.get(OUTCOME)).toBe('halted');
    expect(await cloudOutcome(clouds[1]!)).toEqual([
      'rolled-back',
      expect.stringMatching(/^patch of .*: rolled-back \(revision 2\): .*waitHealthy failed/),
    ]);
  }, 60_000);

  test('failure budget in total: failures up to the budget are tolerated, the one past it halts', async () => {
    const clouds = await fleet(9);
    // One failure in each wave: allowed 1 per wave and 2 in total, so the third halts the campaign.
    for (const i of [1, 4, 6]) fast.runtime.fail({ op: 'waitHealthy', cloud: clouds[i], times: 1 });
    const s = spec(clouds, {
      waves: [{ size: 3 }, { size: 3 }, { size: 'rest' }],
      concurrency: 1,
      failureBudget: { perWave: 1, total: 2 },
    });
    const id = s.metadata.name;
    const handle = await start(s);
    const result = await handle.result();

    expect(result.phase).toBe('halted');
    expect(result.haltReason).toMatch(
      new RegExp(
        `^failure budget exceeded: 1 failed in wave 3 \\(allowed 1\\), 3 in total \\(allowed 2\\); last: ${clouds[6]}:`,
      ),
    );
    expect(Object.values(fast.campaigns.statuses(id))).toEqual([
      'patched',
      'rolled-back',
      'patched',
      'patched',
      'rolled-back',
      'patched',
      'rolled-back',
      'not-started',
      'not-started',
    ]);
    expect((await progress(handle)).waves.map((w) => w.counts)).toEqual([
      { patched: 2, 'rolled-back': 1 },
      { patched: 2, 'rolled-back': 1 },
      { 'rolled-back': 1, 'not-started': 2 },
    ]);
    expect(patchesSent(id)).toEqual(clouds.slice(0, 7));
    for (const cloud of clouds.slice(7)) {
      expect(revisionsBy(id, cloud)).toEqual([]);
      expect(runs(cloud)).toBe(V1);
    }
  }, 60_000);

  test('failure budget per wave: the second failure in a wave halts it; clouds in flight finish, none start', async () => {
    const clouds = await fleet(6);
    for (const i of [0, 2]) fast.runtime.fail({ op: 'waitHealthy', cloud: clouds[i], times: 1 });
    // c02 stays in flight until released: c01 fails (tolerated), c03 takes its place and fails.
    const release = fast.campaigns.hold(clouds[1]!);
    const s = spec(clouds, {
      waves: [{ size: 5 }, { size: 'rest' }],
      concurrency: 2,
      failureBudget: { perWave: 1, total: 10 },
    });
    const id = s.metadata.name;
    const handle = await start(s);
    const halted = await until(handle, 'the halt', (p) => p.haltReason !== null);

    expect(halted.haltReason).toMatch(/^failure budget exceeded: 2 failed in wave 1 \(allowed 1\)/);
    expect(halted.phase).toBe('running'); // not finished: c02 is still in flight
    expect(halted.inFlight).toEqual([clouds[1]]);
    await fast.env.sleep(60_000);
    expect(patchesSent(id)).toEqual(clouds.slice(0, 3));

    release();
    const result = await handle.result();
    expect(result.phase).toBe('halted');
    expect(fast.campaigns.statuses(id)).toEqual({
      [clouds[0]!]: 'rolled-back',
      [clouds[1]!]: 'patched', // finished after the halt, as a cloud in flight does
      [clouds[2]!]: 'rolled-back',
      [clouds[3]!]: 'not-started',
      [clouds[4]!]: 'not-started',
      [clouds[5]!]: 'not-started',
    });
    expect(await launches(handle)).toEqual(clouds.slice(0, 3).map((c) => `patch ${c}`));
    expect(runs(clouds[1]!)).toBe(V2);
    for (const cloud of clouds.slice(3)) expect(revisionsBy(id, cloud)).toEqual([]);
  }, 60_000);

  test('failure budget with onExceeded: rollback: every cloud the campaign patched is rolled back, in launch order', async () => {
    const clouds = await fleet(4);
    fast.runtime.fail({ op: 'waitHealthy', cloud: clouds[2], times: 1 });
    const s = spec(clouds, {
      waves: [{ size: 2 }, { size: 'rest' }],
      concurrency: 1,
      failureBudget: { perWave: 0, total: 0, onExceeded: 'rollback' },
    });
    const id = s.metadata.name;
    const handle = await start(s);
    const result = await handle.result();

    expect(result.phase).toBe('halted');
    expect(result.haltReason).toMatch(/^failure budget exceeded: 1 failed in wave 2/);
    expect(result.totals).toEqual({ reverted: 2, 'rolled-back': 1, 'not-started': 1 });
    expect(fast.campaigns.statuses(id)).toEqual({
      [clouds[0]!]: 'reverted',
      [clouds[1]!]: 'reverted',
      [clouds[2]!]: 'rolled-back',
      [clouds[3]!]: 'not-started',
    });
    expect(await launches(handle)).toEqual([
      ...clouds.slice(0, 3).map((c) => `patch ${c}`),
      ...clouds.slice(0, 2).map((c) => `revert ${c}`),
    ]);
    expect(revertsSent(id)).toEqual(clouds.slice(0, 2));
    // The reverts came after the halt, each as a rollback revision of the cloud (back to revision 1).
    expect(phases(id)).toEqual(['running', 'rolling-back', 'halted']);
    for (const cloud of clouds.slice(0, 2)) {
      expect(revisionsBy(id, cloud)).toEqual(['apply applied', 'rollback applied']);
      expect(fast.store.rows(cloud).at(-1)?.rollbackOf).toEqual({ service: 'api', toRevision: 1 });
    }
    const rows = fast.campaigns.rows(id);
    expect(rows[0]).toMatchObject({ revision: 2, fromRevision: 1, revertRevision: 3 });
    for (const cloud of clouds) expect(runs(cloud)).toBe(V1);
    expect(revisionsBy(id, clouds[3]!)).toEqual([]);
  }, 60_000);

  test('clouds the campaign cannot patch do not spend the budget: an unknown name, a cloud already at the target', async () => {
    const clouds = await fleet(3);
    const s = spec([...clouds, 'nowhere-1'], { waves: [{ size: 1 }, { size: 'rest' }] });
    // c01 already runs the target: nothing to do there.
    const first = spec([clouds[0]!]);
    expect((await (await start(first)).result()).totals).toEqual({ patched: 1 });
    const id = s.metadata.name;
    const result = await (await start(s)).result();

    expect(result).toEqual({
      id,
      phase: 'completed',
      totals: { 'already-at-target': 1, patched: 2, failed: 1 },
      haltReason: null,
    });
    expect(fast.campaigns.rows(id).map((r) => [r.cloud, r.wave, r.status])).toEqual([
      [clouds[0], 0, 'already-at-target'],
      [clouds[1], 1, 'patched'],
      [clouds[2], 1, 'patched'],
      ['nowhere-1', null, 'failed'],
    ]);
    expect(revisionsBy(id, clouds[0]!)).toEqual([]);
  }, 60_000);

  /**
   * The cloud's hosts stop answering (scripted, `times` refused revisions; every one when unset): its
   * preflight fails as explainPickup fails a host-bound activity nothing picks up, HOST_UNREACHABLE
   * naming the host. The time-skipping server does not skip time while a task waits in a queue
   * without a poller, so the pickup timeout itself is not waited for here (hostRouting.test.ts).
   */
  const offline = (cloud: string, times?: number) =>
    fast.runtime.fail({
      op: 'preflightService',
      cloud,
      times,
      type: 'HOST_UNREACHABLE',
      message: `host ctl1: no worker took preflightService from task queue patchbay-agent:${cloud}:ctl1 within 2m (is the host's agent running?)`,
      details: { host: 'ctl1' },
    });
  /** When the campaign sent a cloud its patch (test server time), attempt by attempt. */
  const submitTimes = (id: string, cloud: string) =>
    log(id).flatMap((e) => (e.kind === 'submit' && e.cloud === cloud ? [e.at] : []));

  test('an offline host holds back only its own cloud: tried again, then skipped-unreachable; the others patched, the budget untouched', async () => {
    const clouds = await fleet(4);
    offline(clouds[1]!);
    // Budget 0 (the default): one failed cloud would halt the campaign.
    const s = spec(clouds, {
      waves: [{ size: 2 }, { size: 'rest' }],
      concurrency: 2,
      unreachable: { retries: 2, interval: '5m' },
    });
    const id = s.metadata.name;
    const handle = await start(s);
    const result = await handle.result();

    expect(result).toEqual({
      id,
      phase: 'completed',
      totals: { patched: 3, 'skipped-unreachable': 1 },
      haltReason: null,
    });
    expect(fast.campaigns.statuses(id)).toEqual({
      [clouds[0]!]: 'patched',
      [clouds[1]!]: 'skipped-unreachable',
      [clouds[2]!]: 'patched',
      [clouds[3]!]: 'patched',
    });
    // Three revisions (the first and two retries, 5 minutes apart), each refused at preflight with
    // the host named; nothing of the cloud touched: it still runs v1 from revision 1.
    const skipped = fast.campaigns.rows(id)[1]!;
    expect(skipped).toMatchObject({ revision: 4, fromRevision: 1, attempts: 3 });
    expect(skipped.reason).toBe(
      'host unreachable: ctl1 (3 revisions refused at preflight, the last 4; nothing touched)',
    );
    expect(revisionsBy(id, clouds[1]!)).toEqual(['apply failed', 'apply failed', 'apply failed']);
    for (const r of fast.store.rows(clouds[1]!).slice(1)) {
      expect(r.unreachableHosts).toEqual(['ctl1']);
      expect(r.reason).toContain('host ctl1: no worker took preflightService');
    }
    const at = submitTimes(id, clouds[1]!);
    expect(at).toHaveLength(3);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(5 * 60_000);
    expect(runs(clouds[1]!)).toBe(V1);
    expect(fast.runtime.calls(clouds[1]!, 'startInstance').map((e) => e.revision)).toEqual([1]);
    // The failure budget spent nothing; every other cloud patched through one revision of its own.
    const p = await progress(handle);
    expect(p.waves.map((w) => w.counts)).toEqual([{ patched: 1, 'skipped-unreachable': 1 }, { patched: 2 }]);
    for (const cloud of [clouds[0]!, ...clouds.slice(2)]) {
      expect(runs(cloud)).toBe(V2);
      expect(revisionsBy(id, cloud)).toEqual(['apply applied']);
    }
    expect(await launches(handle)).toEqual(clouds.map((c) => `patch ${c}`));
  }, 60_000);

  test('unreachable: { action: skip }: a cloud whose hosts do not answer is skipped at once, and the next wave goes on', async () => {
    const clouds = await fleet(3);
    offline(clouds[0]!); // the canary
    const s = spec(clouds, { waves: [{ size: 1 }, { size: 'rest' }], unreachable: { action: 'skip' } });
    const id = s.metadata.name;
    const result = await (await start(s)).result();

    expect(result).toEqual({
      id,
      phase: 'completed',
      totals: { patched: 2, 'skipped-unreachable': 1 },
      haltReason: null,
    });
    expect(fast.campaigns.rows(id)[0]).toMatchObject({
      cloud: clouds[0],
      status: 'skipped-unreachable',
      revision: 2,
      attempts: 1,
      reason: 'host unreachable: ctl1 (revision 2 refused at preflight; nothing touched)',
    });
    expect(submitTimes(id, clouds[0]!)).toHaveLength(1);
    expect(revisionsBy(id, clouds[0]!)).toEqual(['apply failed']);
    expect(runs(clouds[0]!)).toBe(V1);
    for (const cloud of clouds.slice(1)) expect(runs(cloud)).toBe(V2);
  }, 60_000);

  test('hosts back within the retries: the cloud is patched by its next revision', async () => {
    const clouds = await fleet(2);
    offline(clouds[0]!, 2); // two revisions refused, then the agent answers again
    const s = spec(clouds, { concurrency: 1, unreachable: { retries: 3, interval: '2m' } });
    const id = s.metadata.name;
    const handle = await start(s);
    // While it waits, the cloud's row says why and when it is tried again.
    const waiting = await eventually('the first retry to be announced', () => {
      const row = fast.campaigns.rows(id)[0];
      return row?.status === 'running' && row.reason ? row : undefined;
    });
    expect(waiting).toMatchObject({ revision: 2, attempts: 1 });
    expect(waiting.reason).toBe(
      'host unreachable: ctl1 (revision 2 refused at preflight); trying again in 2m (retry 1 of 3)',
    );
    const result = await handle.result();

    expect(result.totals).toEqual({ patched: 2 });
    expect(result.phase).toBe('completed');
    expect(fast.campaigns.rows(id)[0]).toMatchObject({
      status: 'patched',
      revision: 4,
      fromRevision: 1,
      attempts: 3,
    });
    expect(fast.campaigns.rows(id)[0]!.reason).toBeUndefined();
    expect(revisionsBy(id, clouds[0]!)).toEqual(['apply failed', 'apply failed', 'apply applied']);
    expect(fast.store.rows(clouds[0]!).at(-1)?.unreachableHosts).toBeUndefined();
    expect(runs(clouds[0]!)).toBe(V2);
    expect(runs(clouds[1]!)).toBe(V2);
  }, 60_000);

  test('approval gate: the wave waits for its approve, and nothing of it starts before', async () => {
    const clouds = await fleet(4);
    const s = spec(clouds, { waves: [{ size: 1 }, { size: 'rest', approval: true }], concurrency: 3 });
    const id = s.metadata.name;
    const handle = await start(s);
    await until(handle, 'the approval gate', (p) => p.phase === 'awaiting-approval');
    await fast.env.sleep(60 * 60_000); // an hour later: still waiting

    const waiting = await progress(handle);
    expect(waiting).toMatchObject({ phase: 'awaiting-approval', currentWave: 1, inFlight: [] });
    expect(waiting.waves.map((w) => [w.approval, w.approved, w.counts])).toEqual([
      [false, true, { patched: 1 }],
      [true, false, { pending: 3 }],
    ]);
    expect(patchesSent(id)).toEqual([clouds[0]]);
    for (const cloud of clouds.slice(1)) expect(runs(cloud)).toBe(V1);

    // Only waves that exist can be approved; the refusal changes nothing.
    await expect(
      handle.executeUpdate(approveCampaignUpdate, { args: [{ by: 'ops', wave: 3 }] }),
    ).rejects.toMatchObject({
      cause: { type: 'INVALID_INPUT', message: expect.stringMatching(/has 2 waves \(got 3\)/) },
    });
    expect((await progress(handle)).phase).toBe('awaiting-approval');

    const mark = fast.campaigns.events.length;
    const ack = await handle.executeUpdate(approveCampaignUpdate, {
      args: [{ by: 'ops', reason: 'canary looks good', wave: 2 }],
    });
    expect(ack).toMatchObject({ paused: false, message: 'wave 2 approved' });
    const result = await handle.result();

    expect(result).toMatchObject({ phase: 'completed', totals: { patched: 4 } });
    expect(patchesSent(id, mark)).toEqual(clouds.slice(1));
    for (const cloud of clouds) expect(runs(cloud)).toBe(V2);
    expect(phases(id)).toEqual(['running', 'awaiting-approval', 'running', 'completed']);
    expect(audit(id)).toEqual([['ops', 'approve', 'canary looks good', { wave: 2 }]]);
  }, 60_000);

  test('an approval given before the gate is reached: the wave starts without waiting', async () => {
    const clouds = await fleet(3);
    const release = fast.campaigns.hold(clouds[0]!);
    const s = spec(clouds, { waves: [{ size: 1 }, { size: 'rest', approval: true }] });
    const id = s.metadata.name;
    const handle = await start(s);
    await until(handle, 'the canary in flight', (p) => p.inFlight.length === 1);
    await handle.executeUpdate(approveCampaignUpdate, { args: [{ by: 'ops', wave: 2 }] });
    expect((await progress(handle)).waves[1]).toMatchObject({ approval: true, approved: true });
    release();

    expect(await handle.result()).toMatchObject({ phase: 'completed', totals: { patched: 3 } });
    expect(phases(id)).not.toContain('awaiting-approval');
    expect(patchesSent(id)).toEqual(clouds);
  }, 60_000);

  test('pause mid-wave: clouds in flight finish, nothing new starts until resume', async () => {
    const clouds = await fleet(5);
    const held = clouds.slice(0, 2).map((c) => fast.campaigns.hold(c));
    const s = spec(clouds, { concurrency: 2 });
    const id = s.metadata.name;
    const handle = await start(s);
    await until(handle, 'two clouds in flight', (p) => p.inFlight.length === 2);

    const paused = await handle.executeUpdate(pauseCampaignUpdate, {
      args: [{ by: 'ops', reason: 'change freeze' }],
    });
    expect(paused).toEqual({
      phase: 'running',
      paused: true,
      message: 'paused: no new cloud starts; clouds in flight finish',
    });
    held.forEach((release) => release());
    await until(handle, 'the clouds in flight to finish', (p) => p.inFlight.length === 0);
    await fast.env.sleep(60 * 60_000);

    const p = await progress(handle);
    expect(p).toMatchObject({ phase: 'running', paused: { by: 'ops', reason: 'change freeze' } });
    expect(p.totals).toEqual({ patched: 2, pending: 3 });
    expect(patchesSent(id)).toEqual(clouds.slice(0, 2));
    for (const cloud of clouds.slice(2)) expect(runs(cloud)).toBe(V1);

    const mark = fast.campaigns.events.length;
    const resumed = await handle.executeUpdate(resumeCampaignUpdate, { args: [{ by: 'ops' }] });
    expect(resumed).toMatchObject({ paused: false, message: 'resumed' });
    const result = await handle.result();

    expect(result).toMatchObject({ phase: 'completed', totals: { patched: 5 } });
    expect(patchesSent(id, mark)).toEqual(clouds.slice(2));
    for (const cloud of clouds) expect(runs(cloud)).toBe(V2);
    expect(audit(id)).toEqual([
      ['ops', 'pause', 'change freeze', { phase: 'running' }],
      ['ops', 'resume', '', { wasPaused: true }],
    ]);
  }, 60_000);

  test('a pause between waves holds the next one: it stays on the finished wave, an approval alone starts nothing', async () => {
    const clouds = await fleet(3);
    const release = fast.campaigns.hold(clouds[0]!);
    const s = spec(clouds, { waves: [{ size: 1 }, { size: 'rest', approval: true }] });
    const id = s.metadata.name;
    const handle = await start(s);
    await until(handle, 'the canary in flight', (p) => p.inFlight.length === 1);
    await handle.executeUpdate(pauseCampaignUpdate, { args: [{ by: 'ops' }] });
    release();
    await until(handle, 'the canary patched', (p) => p.totals.patched === 1);
    await fast.env.sleep(60 * 60_000);

    // Still on the canary wave: not at the next wave's gate yet.
    expect(await progress(handle)).toMatchObject({
      phase: 'running',
      currentWave: 0,
      totals: { patched: 1, pending: 2 },
    });
    const approved = await handle.executeUpdate(approveCampaignUpdate, { args: [{ by: 'ops', wave: 2 }] });
    expect(approved).toMatchObject({ paused: true, message: 'wave 2 approved' });
    await fast.env.sleep(60 * 60_000);
    expect((await progress(handle)).totals).toEqual({ patched: 1, pending: 2 });
    expect(patchesSent(id)).toEqual([clouds[0]]);

    const mark = fast.campaigns.events.length;
    await handle.executeUpdate(resumeCampaignUpdate, { args: [{ by: 'ops' }] });
    expect(await handle.result()).toMatchObject({ phase: 'completed', totals: { patched: 3 } });
    expect(patchesSent(id, mark)).toEqual(clouds.slice(1));
    expect(phases(id)).toEqual(['running', 'completed']);
  }, 60_000);

  test('abort mid-wave: clouds in flight finish, the rest are never started', async () => {
    const clouds = await fleet(5);
    const held = clouds.slice(0, 2).map((c) => fast.campaigns.hold(c));
    const s = spec(clouds, { concurrency: 2 });
    const id = s.metadata.name;
    const handle = await start(s);
    await until(handle, 'two clouds in flight', (p) => p.inFlight.length === 2);

    const ack = await handle.executeUpdate(abortCampaignUpdate, {
      args: [{ by: 'ops', reason: 'CVE re-scored' }],
    });
    expect(ack.message).toBe('aborting: no new cloud starts; the clouds in flight finish');
    held.forEach((release) => release());
    const result = await handle.result();

    expect(result).toEqual({
      id,
      phase: 'aborted',
      totals: { patched: 2, 'not-started': 3 },
      haltReason: null,
    });
    expect(fast.campaigns.statuses(id)).toEqual({
      [clouds[0]!]: 'patched',
      [clouds[1]!]: 'patched',
      [clouds[2]!]: 'not-started',
      [clouds[3]!]: 'not-started',
      [clouds[4]!]: 'not-started',
    });
    expect(patchesSent(id)).toEqual(clouds.slice(0, 2));
    for (const cloud of clouds.slice(0, 2)) expect(runs(cloud)).toBe(V2);
    for (const cloud of clouds.slice(2)) {
      expect(runs(cloud)).toBe(V1);
      expect(revisionsBy(id, cloud)).toEqual([]);
    }
    expect(fast.campaigns.campaigns.get(id)).toMatchObject({ phase: 'aborted' });
    expect(audit(id)).toEqual([['ops', 'abort', 'CVE re-scored', { inFlight: 'finish' }]]);
    // Finished: further control is refused.
    await expect(handle.executeUpdate(pauseCampaignUpdate, { args: [{ by: 'ops' }] })).rejects.toBeInstanceOf(
      Error,
    );
  }, 60_000);

  test('abort with rollback at an approval gate: the next wave never starts, the patched clouds are rolled back', async () => {
    const clouds = await fleet(4);
    const s = spec(clouds, { waves: [{ size: 2 }, { size: 'rest', approval: true }] });
    const id = s.metadata.name;
    const handle = await start(s);
    await until(handle, 'the approval gate', (p) => p.phase === 'awaiting-approval');
    for (const cloud of clouds.slice(0, 2)) expect(runs(cloud)).toBe(V2);

    const ack = await handle.executeUpdate(abortCampaignUpdate, {
      args: [{ by: 'ops', reason: 'bad image', inFlight: 'rollback' }],
    });
    expect(ack.message).toMatch(/^aborting: .*every cloud this campaign patched is rolled back$/);
    const result = await handle.result();

    expect(result).toEqual({
      id,
      phase: 'aborted',
      totals: { reverted: 2, 'not-started': 2 },
      haltReason: null,
    });
    expect(phases(id)).toEqual(['running', 'awaiting-approval', 'rolling-back', 'aborted']);
    expect(revertsSent(id)).toEqual(clouds.slice(0, 2));
    expect(patchesSent(id)).toEqual(clouds.slice(0, 2));
    for (const cloud of clouds) expect(runs(cloud)).toBe(V1);
    for (const cloud of clouds.slice(2)) expect(revisionsBy(id, cloud)).toEqual([]);
    expect(fast.campaigns.statuses(id)).toEqual({
      [clouds[0]!]: 'reverted',
      [clouds[1]!]: 'reverted',
      [clouds[2]!]: 'not-started',
      [clouds[3]!]: 'not-started',
    });
  }, 60_000);

  test('continue-as-new between launches keeps the waves, the approval, the pause and the budget account', async () => {
    const clouds = await fleet(6);
    // One failure in wave 2 (allowed), one in wave 3: 2 in total, past the budget of 1.
    for (const i of [2, 4]) fast.runtime.fail({ op: 'waitHealthy', cloud: clouds[i], times: 1 });
    const s = spec(clouds, {
      waves: [{ size: 1 }, { size: 2, approval: true }, { size: 'rest' }],
      concurrency: 2,
      bake: '5m',
      failureBudget: { perWave: 1, total: 1 },
    });
    const id = s.metadata.name;
    // A history limit of 1 event: the campaign continues as new before every launch but a run's first
    // (once the clouds in flight have finished).
    const handle = await start(s, 1);
    await until(handle, 'the approval gate', (p) => p.phase === 'awaiting-approval');
    expect(patchesSent(id)).toEqual([clouds[0]]);
    await handle.executeUpdate(pauseCampaignUpdate, { args: [{ by: 'ops' }] });
    await handle.executeUpdate(approveCampaignUpdate, { args: [{ by: 'ops', wave: 2 }] });
    await fast.env.sleep(60 * 60_000);
    expect(patchesSent(id)).toEqual([clouds[0]]);

    // Wave 3's first cloud in flight, the campaign waiting for it to continue as new: paused then.
    const release = fast.campaigns.hold(clouds[3]!);
    await handle.executeUpdate(resumeCampaignUpdate, { args: [{ by: 'ops' }] });
    await until(handle, `${clouds[3]} in flight`, (p) => p.inFlight.includes(clouds[3]!));
    await handle.executeUpdate(pauseCampaignUpdate, { args: [{ by: 'ops', reason: 'again' }] });
    release();
    await until(handle, `${clouds[3]} patched`, (p) => p.totals.patched === 3);
    await fast.env.sleep(60 * 60_000);
    const paused = await progress(handle);
    expect(paused.paused).toMatchObject({ by: 'ops', reason: 'again' });
    expect(paused.totals).toEqual({ patched: 3, 'rolled-back': 1, pending: 2 });
    expect(patchesSent(id)).toEqual(clouds.slice(0, 4));

    await handle.executeUpdate(resumeCampaignUpdate, { args: [{ by: 'ops' }] });
    const result = await handle.result();

    expect(result.phase).toBe('halted');
    expect(result.haltReason).toMatch(
      /^failure budget exceeded: 1 failed in wave 3 \(allowed 1\), 2 in total \(allowed 1\)/,
    );
    expect(Object.values(fast.campaigns.statuses(id))).toEqual([
      'patched',
      'patched',
      'rolled-back',
      'patched',
      'rolled-back',
      'not-started',
    ]);
    const p = await progress(handle);
    expect(p.runs).toBeGreaterThanOrEqual(4);
    expect(p.totals).toEqual(result.totals);
    expect(p.totals).toEqual({ patched: 3, 'rolled-back': 2, 'not-started': 1 });
    // Each cloud launched once, whatever the runs; the last one never.
    expect(patchesSent(id)).toEqual(clouds.slice(0, 5));
    for (const cloud of clouds.slice(0, 5)) expect(revisionsBy(id, cloud)).toHaveLength(1);
    expect(revisionsBy(id, clouds[5]!)).toEqual([]);
  }, 60_000);

  test('control payloads are validated: a wrong field is refused and changes nothing', async () => {
    const clouds = await fleet(2);
    const s = spec(clouds, { waves: [{ size: 1 }, { size: 'rest', approval: true }] });
    const handle = await start(s);
    await until(handle, 'the approval gate', (p) => p.phase === 'awaiting-approval');
    await expect(
      handle.executeUpdate(approveCampaignUpdate, {
        args: [{ by: 'ops', wave: 'two' as unknown as number }],
      }),
    ).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    await expect(handle.executeUpdate(pauseCampaignUpdate, { args: [{ by: '' }] })).rejects.toMatchObject({
      cause: { type: 'INVALID_INPUT' },
    });
    const p = await progress(handle);
    expect(p).toMatchObject({ phase: 'awaiting-approval', paused: null });
    expect(p.waves[1]!.approved).toBe(false);
    expect(audit(s.metadata.name)).toEqual([]);
    await handle.executeUpdate(abortCampaignUpdate, { args: [{ by: 'ops' }] });
    expect((await handle.result()).phase).toBe('aborted');
  }, 60_000);
});
