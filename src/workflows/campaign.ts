// A fleet campaign (workflow id campaign:<name>): one service patched to one image across many
// clouds, wave by wave (canary first), a bounded number at a time, baking between waves, halting when
// the failure budget is spent (and, if asked, rolling back every cloud it patched). Each cloud is a
// child workflow that goes through the cloud's own apply/rollback updates: a campaign reuses the
// per-cloud patch path. People and other systems steer it with the updates in campaignMessages.ts;
// every such decision is written to the audit log.
//
// Bounded state: the campaign's clouds and every per-cloud outcome live in the record store
// (campaigns, campaign_clouds). The workflow keeps counters (per wave and status, the failure budget's
// account, the next position to launch), flags (approvals, bakes, pause, abort, halt) and the clouds in
// flight (at most `concurrency`); it reads the clouds to launch from the store a page at a time. Past
// maxHistoryEvents it continues as new (between launches, nothing in flight) carrying only that, the
// same size at 100 clouds and at 100,000.
//
// Campaigns started before the store replay through campaignLegacy.ts (patched(RECORD_STORE_PATCH) is
// false in their histories); when such a campaign continues as new, this code receives its old-shaped
// state and moves the cloud list and outcomes into the store first.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  executeChild,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CampaignSpec } from '../campaign/spec';
import { planWaves, type PlannedWave } from '../campaign/waves';
import { failure } from '../lib/failures';
import { imageVersion } from '../record/identity';
import { parsePayload } from '../record/zodIssues';
import type { CampaignCloudRef, CampaignCloudRow } from '../store/campaignStore';
import { recording } from './activityProxies';
import {
  carryState,
  clipReason,
  isLegacyState,
  restoreLegacyState,
  type LegacyCarriedCampaignState,
} from './campaignCarry';
import { campaignCloudWorkflow, type CampaignCloudInput } from './campaignCloud';
import { campaignCloudWorkflowId } from './campaignIds';
import { legacyCampaignWorkflow } from './campaignLegacy';
import {
  type ProgressOptions,
  abortCampaignUpdate,
  approveCampaignUpdate,
  campaignProgressQuery,
  pauseCampaignUpdate,
  resumeCampaignUpdate,
  type ControlAck,
} from './campaignMessages';
import { campaignPayloads, campaignSpec } from './schemas';
import {
  revertError,
  type CampaignPhase,
  type CampaignProgress,
  type CampaignResult,
  type CampaignState,
  type CloudOutcome,
  type CloudStatus,
  type StatusCounts,
  type WaveProgress,
} from './campaignTypes';
import { failureMessage } from './failures';
import { OUTCOME_ATTRIBUTE_PATCH, RECORD_STORE_PATCH } from './patches';
import { CAMPAIGN_ID, CLOUD, SERVICE, TARGET_VERSION } from './searchAttributes';
import { markOutcome } from './outcomeAttribute';
import { CAMPAIGN_CLOUDS, count } from './metrics';

export { campaignCloudWorkflowId, campaignWorkflowId } from './campaignIds';

const resolving = proxyActivities<Activities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '60s',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

export interface CampaignInput {
  /** The campaign spec (YAML as JSON); normalised with the schema here. Null once `state` carries it. */
  spec: unknown;
  startedBy: string;
  /** Continue-as-new past this many history events (default 8,000; tests lower it). */
  maxHistoryEvents?: number;
  /** Carried over by continue-as-new: counters only (or, from a campaign before the store, everything). */
  state?: CampaignState | LegacyCarriedCampaignState;
}

/** Clouds read from the store at a time (held in memory, never carried). */
const PAGE = 100;
/** Moving a campaign from before the store in: rows per activity call, well under the 2 MB payload limit. */
const IMPORT_CHUNK_BYTES = 256 * 1024;

/** What the failure budget counts; a skipped cloud (busy, hosts unreachable) does not spend it. */
const FAILED: CloudStatus[] = ['rolled-back', 'failed'];
const FINISHED_PHASES = ['completed', 'halted', 'aborted'];

const add = (counts: StatusCounts, status: CloudStatus, n = 1) => {
  const v = (counts[status] ?? 0) + n;
  if (v > 0) counts[status] = v;
  else delete counts[status];
};

const waveOf = (waves: PlannedWave[], position: number): number | null =>
  waves.find((w) => position >= w.start && position < w.end)?.index ?? null;

function freshState(spec: CampaignSpec, startedBy: string): CampaignState {
  return {
    version: 2,
    spec,
    startedBy,
    startedAt: new Date().toISOString(),
    clouds: 0,
    waves: [],
    counts: [],
    outside: {},
    next: 0,
    approved: [],
    baked: [],
    paused: null,
    abort: null,
    haltReason: null,
    phase: 'resolving',
    runs: 0,
    rollbackDone: false,
    rollbackAfter: -1,
    failures: { perWave: [], total: 0 },
  };
}

/**
 * A state carried by a campaign from before the store, as counters, and its clouds and outcomes as
 * rows for the store (in launch order; named clouds Patchbay does not manage without a position).
 */
export function fromLegacyState(carried: LegacyCarriedCampaignState): {
  state: CampaignState;
  rows: CampaignCloudRow[];
} {
  const legacy = restoreLegacyState(carried);
  const { outcomes, clouds, ...rest } = legacy;
  if (legacy.phase === 'resolving') return { state: freshState(legacy.spec, legacy.startedBy), rows: [] };
  const counts: StatusCounts[] = legacy.waves.map(() => ({}));
  const outside: StatusCounts = {};
  const rows: CampaignCloudRow[] = [];
  const toRow = (o: CloudOutcome | undefined) => {
    if (!o) return { status: 'pending' as const };
    const { cloud: _, ...outcome } = o;
    if (outcome.reason !== undefined) outcome.reason = clipReason(outcome.reason);
    if (outcome.revertError !== undefined) outcome.revertError = clipReason(outcome.revertError);
    return outcome;
  };
  const planned = new Set(clouds);
  clouds.forEach((cloud, position) => {
    const wave = waveOf(legacy.waves, position);
    const outcome = toRow(outcomes[cloud]);
    rows.push({ cloud, position, wave, outcome });
    add(wave === null ? outside : counts[wave]!, outcome.status);
  });
  for (const o of Object.values(outcomes))
    if (!planned.has(o.cloud)) {
      rows.push({ cloud: o.cloud, position: null, wave: null, outcome: toRow(o) });
      add(outside, o.status);
    }
  const state: CampaignState = {
    ...rest,
    version: 2,
    clouds: clouds.length,
    counts,
    outside,
    rollbackAfter: -1,
  };
  return { state, rows };
}

export async function campaignWorkflow(input: CampaignInput): Promise<CampaignResult> {
  // Histories written before the record store replay (and their campaigns run on) the old code.
  if (!patched(RECORD_STORE_PATCH)) return legacyCampaignWorkflow(input);

  let imported: CampaignCloudRow[] | null = null; // rows of a campaign from before the store, moved in below
  let state: CampaignState;
  if (input.state && isLegacyState(input.state)) {
    const moved = fromLegacyState(input.state);
    state = moved.state;
    imported = moved.state.phase === 'resolving' ? null : moved.rows;
  } else {
    state = input.state ?? freshState(campaignSpec().CampaignSpecSchema.parse(input.spec), input.startedBy);
  }
  const spec: CampaignSpec = state.spec;
  const id = spec.metadata.name;
  const workflowId = workflowInfo().workflowId;
  const { service, image, concurrency, bake, failureBudget } = spec.spec;
  const maxHistoryEvents = input.maxHistoryEvents ?? 8_000;
  /** Clouds in flight and the wave each belongs to (null: outside every wave). */
  const inFlight = new Map<string, number | null>();
  let currentWave: number | null = null;
  /** Set while the final phase is written: updates are refused from then on. */
  let closing = false;

  const finished = () => closing || FINISHED_PHASES.includes(state.phase);
  const stopping = () => state.haltReason !== null || state.abort !== null;
  const ack = (message: string): ControlAck => ({
    phase: state.phase,
    paused: state.paused !== null,
    message,
  });
  const refuseIfFinished = (what: string) => {
    if (finished())
      throw failure('CAMPAIGN_REFUSED', `campaign ${id} has ${state.phase}; nothing to ${what}`);
  };
  /** The operator's decision into the audit log, once per update (its id is the key). */
  const audit = async (action: string, by: string, reason: string, detail: Record<string, unknown>) => {
    const update = currentUpdateInfo();
    await recording.storeAudit({
      key: `${workflowId}:${update?.id ?? `${action}:${new Date().toISOString()}`}`,
      at: new Date().toISOString(),
      actor: by,
      action,
      targetKind: 'campaign',
      target: id,
      reason,
      detail,
    });
  };

  setHandler(campaignProgressQuery, (options?: ProgressOptions): CampaignProgress =>
    progress(parsePayload(campaignPayloads().ProgressOptions, options, 'progress').outcomes),
  );
  setHandler(
    pauseCampaignUpdate,
    async (payload) => {
      const p = campaignPayloads().PausePayload.parse(payload);
      state.paused ??= { by: p.by, reason: p.reason, at: new Date().toISOString() };
      const out = ack('paused: no new cloud starts; clouds in flight finish');
      await audit('pause', p.by, p.reason, { phase: out.phase });
      return out;
    },
    {
      validator: (payload) => {
        parsePayload(campaignPayloads().PausePayload, payload, 'pause');
        refuseIfFinished('pause');
      },
    },
  );
  setHandler(
    resumeCampaignUpdate,
    async (payload) => {
      const p = campaignPayloads().ResumePayload.parse(payload);
      const was = state.paused !== null;
      state.paused = null;
      const out = ack(was ? 'resumed' : 'was not paused');
      await audit('resume', p.by, p.reason, { wasPaused: was });
      return out;
    },
    {
      validator: (payload) => {
        parsePayload(campaignPayloads().ResumePayload, payload, 'resume');
        refuseIfFinished('resume');
      },
    },
  );
  setHandler(
    abortCampaignUpdate,
    async (payload) => {
      const p = campaignPayloads().AbortPayload.parse(payload);
      // A second abort may only widen it (finish -> rollback).
      if (!state.abort || p.inFlight === 'rollback')
        state.abort = { by: p.by, reason: p.reason, at: new Date().toISOString(), inFlight: p.inFlight };
      const out = ack(
        state.abort.inFlight === 'rollback'
          ? 'aborting: no new cloud starts; when the clouds in flight finish, every cloud this campaign patched is rolled back'
          : 'aborting: no new cloud starts; the clouds in flight finish',
      );
      await audit('abort', p.by, p.reason, { inFlight: p.inFlight });
      return out;
    },
    {
      validator: (payload) => {
        parsePayload(campaignPayloads().AbortPayload, payload, 'abort');
        refuseIfFinished('abort');
      },
    },
  );
  setHandler(
    approveCampaignUpdate,
    async (payload) => {
      const p = campaignPayloads().ApprovePayload.parse(payload);
      if (!state.approved.includes(p.wave - 1)) state.approved.push(p.wave - 1);
      const out = ack(`wave ${p.wave} approved`);
      await audit('approve', p.by, p.reason, { wave: p.wave });
      return out;
    },
    {
      validator: (payload) => {
        const p = parsePayload(campaignPayloads().ApprovePayload, payload, 'approve');
        refuseIfFinished('approve');
        const waves = state.waves.length || spec.spec.waves.length + 1;
        if (p.wave > waves)
          throw failure(
            'INVALID_INPUT',
            `invalid approve payload: wave: campaign ${id} has ${waves} waves (got ${p.wave})`,
          );
      },
    },
  );

  function totals(): StatusCounts {
    const out: StatusCounts = { ...state.outside };
    for (const c of state.counts)
      for (const [status, n] of Object.entries(c)) add(out, status as CloudStatus, n);
    return out;
  }

  /** Waves and totals from the counters; per-cloud outcomes: only the clouds in flight (the rest: the store). */
  function progress(which: 'all' | 'attention' | 'none' = 'all'): CampaignProgress {
    const waves: WaveProgress[] = state.waves.map((w) => ({
      ...w,
      approved: !w.approval || state.approved.includes(w.index),
      counts: { ...state.counts[w.index] },
    }));
    const outcomes: Record<string, CloudOutcome> = {};
    if (which !== 'none') for (const cloud of inFlight.keys()) outcomes[cloud] = { cloud, status: 'running' };
    return {
      id,
      service,
      image,
      phase: state.phase,
      paused: state.paused,
      abort: state.abort,
      haltReason: state.haltReason,
      startedAt: state.startedAt,
      finishedAt: state.finishedAt ?? null,
      currentWave,
      waves,
      totals: totals(),
      clouds: state.clouds,
      inFlight: [...inFlight.keys()],
      outcomes,
      runs: state.runs,
    };
  }

  /** A new phase, in the workflow at once and in the store's campaigns row. */
  const setPhase = async (phase: CampaignPhase) => {
    if (state.phase === phase) return;
    state.phase = phase;
    await recording.campaignStorePhase({
      campaign: id,
      phase,
      haltReason: state.haltReason,
      finishedAt: null,
    });
  };

  const childOptions = (cloud: string, revert: boolean) => ({
    workflowId: campaignCloudWorkflowId(id, cloud, revert),
    typedSearchAttributes: [
      { key: CAMPAIGN_ID, value: id },
      { key: CLOUD, value: cloud },
      { key: SERVICE, value: service },
      { key: TARGET_VERSION, value: imageVersion(image) },
    ],
    staticSummary: revert
      ? `campaign ${id}: roll ${service} back on ${cloud}`
      : `campaign ${id}: patch ${service} on ${cloud} to ${imageVersion(image)}`,
  });

  /** A patch ended (its row is written by then): the counters and the failure budget. */
  const recordOutcome = (outcome: CloudOutcome, wave: number | null) => {
    const counts = wave === null ? state.outside : state.counts[wave]!;
    add(counts, 'running', -1);
    add(counts, outcome.status);
    if (wave === null || !FAILED.includes(outcome.status)) return;
    state.failures.perWave[wave] = (state.failures.perWave[wave] ?? 0) + 1;
    state.failures.total++;
    const inWave = state.failures.perWave[wave]!;
    if (
      state.haltReason === null &&
      (inWave > failureBudget.perWave || state.failures.total > failureBudget.total)
    ) {
      state.haltReason =
        `failure budget exceeded: ${inWave} failed in wave ${wave + 1} (allowed ${failureBudget.perWave}), ` +
        `${state.failures.total} in total (allowed ${failureBudget.total}); last: ${outcome.cloud}: ${outcome.reason ?? outcome.status}`;
      log.warn('campaign halted', { campaign: id, reason: state.haltReason });
    }
  };

  /**
   * Starts one cloud's child (it writes its own row); when the child fails outright, its row is
   * written here. `onDone` runs once the row is written.
   */
  const launch = (input: CampaignCloudInput, wave: number | null, onDone: (o: CloudOutcome) => void) => {
    const revert = input.kind === 'revert';
    launched++;
    inFlight.set(input.cloud, wave);
    void executeChild(campaignCloudWorkflow, {
      ...childOptions(input.cloud, revert),
      args: [{ ...input, store: true }],
    })
      .catch(async (error: unknown): Promise<CloudOutcome> => {
        const outcome: CloudOutcome = { cloud: input.cloud, status: 'failed', reason: failureMessage(error) };
        if (revert)
          await recording.campaignStoreRevert({
            campaign: id,
            cloud: input.cloud,
            result: { revertError: revertError(outcome) },
          });
        else await recording.campaignStoreOutcome({ campaign: id, outcome });
        return outcome;
      })
      .then((outcome) => {
        count(CAMPAIGN_CLOUDS, { campaign: id, kind: input.kind, outcome: outcome.status });
        onDone(outcome);
      })
      .finally(() => inFlight.delete(input.cloud));
  };

  /** Clouds this run launched: a run launches at least one before it continues as new (progress). */
  let launched = 0;
  /** Continue as new when the history grows long: only between launches, with nothing in flight. */
  const bounded = async () => {
    const info = workflowInfo();
    if (launched === 0 || (info.historyLength < maxHistoryEvents && !info.continueAsNewSuggested)) return;
    await condition(() => inFlight.size === 0 && allHandlersFinished());
    state.runs++;
    await continueAsNew<typeof campaignWorkflow>({
      spec: null,
      startedBy: input.startedBy,
      maxHistoryEvents,
      state: carryState(state),
    });
  };

  // A campaign from before the store: its row, then its clouds and outcomes, in chunks.
  if (imported) {
    await recording.campaignStoreBegin({
      name: id,
      service,
      image,
      spec,
      startedBy: state.startedBy,
      startedAt: state.startedAt,
      workflowId,
      phase: state.phase,
    });
    let chunk: CampaignCloudRow[] = [];
    let bytes = 0;
    for (const row of imported) {
      const size = JSON.stringify(row).length;
      if (chunk.length && bytes + size > IMPORT_CHUNK_BYTES) {
        await recording.campaignStoreImport({ campaign: id, rows: chunk });
        [chunk, bytes] = [[], 0];
      }
      chunk.push(row);
      bytes += size;
    }
    if (chunk.length) await recording.campaignStoreImport({ campaign: id, rows: chunk });
    await recording.campaignStorePhase({
      campaign: id,
      phase: state.phase,
      haltReason: state.haltReason,
      finishedAt: null,
    });
    log.info('moved the campaign into the record store', { clouds: imported.length });
  }

  if (state.phase === 'resolving') {
    const resolved = await resolving.resolveCampaign({
      spec,
      startedBy: state.startedBy,
      startedAt: state.startedAt,
      workflowId,
    });
    state.clouds = resolved.clouds;
    state.waves = planWaves(resolved.clouds, spec.spec.waves);
    state.counts = state.waves.map((w) => ({ pending: w.end - w.start }));
    state.outside = resolved.unknown > 0 ? { failed: resolved.unknown } : {};
    count(CAMPAIGN_CLOUDS, { campaign: id, kind: 'patch', outcome: 'failed' }, resolved.unknown);
    await setPhase('running');
  }

  /** The clouds to launch next, read from the store a page at a time. */
  let page: CampaignCloudRef[] = [];
  const cloudAt = async (position: number): Promise<CampaignCloudRef> => {
    const first = page[0]?.position ?? -1;
    if (position < first || position >= first + page.length)
      page = await recording.campaignStorePage({ campaign: id, from: position, limit: PAGE });
    const ref = page[position - (page[0]?.position ?? 0)];
    if (ref?.position !== position)
      throw failure('INTERNAL', `campaign ${id}: the store has no cloud at position ${position}`);
    return ref;
  };

  for (const wave of state.waves) {
    if (stopping()) break;
    if (state.baked.includes(wave.index)) continue;
    currentWave = wave.index;
    if (state.next === wave.start && wave.approval && !state.approved.includes(wave.index)) {
      await setPhase('awaiting-approval');
      await condition(() => state.approved.includes(wave.index) || stopping());
      if (stopping()) break;
    }
    await setPhase('running');
    while (state.next < wave.end) {
      await condition(() => stopping() || (state.paused === null && inFlight.size < concurrency));
      if (stopping()) break;
      await bounded();
      const { cloud } = await cloudAt(state.next);
      add(state.counts[wave.index]!, 'pending', -1);
      add(state.counts[wave.index]!, 'running');
      launch(
        {
          campaignId: id,
          cloud,
          service,
          busy: spec.spec.busy,
          unreachable: spec.spec.unreachable,
          kind: 'patch',
          image,
        },
        wave.index,
        (o) => recordOutcome(o, wave.index),
      );
      state.next++;
    }
    await condition(() => inFlight.size === 0);
    if (stopping()) break;
    if (wave.index < state.waves.length - 1 && bake > 0) {
      await setPhase('baking');
      await condition(stopping, bake);
      if (stopping()) break;
    }
    state.baked.push(wave.index);
    // A pause also holds the next wave.
    await condition(() => state.paused === null || stopping());
  }
  page = [];
  await condition(() => inFlight.size === 0);

  const rollbackWanted =
    (state.haltReason !== null && failureBudget.onExceeded === 'rollback') ||
    state.abort?.inFlight === 'rollback';
  if (rollbackWanted && !state.rollbackDone) {
    await setPhase('rolling-back');
    // Every cloud this campaign patched, in launch order, a page at a time from the store.
    let todo: Array<CampaignCloudRef & { fromRevision: number | null }> = [];
    for (;;) {
      if (todo.length === 0)
        todo = await recording.campaignStorePatchedPage({
          campaign: id,
          after: state.rollbackAfter,
          limit: PAGE,
        });
      const next = todo.shift();
      if (!next) break;
      await condition(() => inFlight.size < concurrency);
      await bounded();
      state.rollbackAfter = next.position;
      if (next.fromRevision === null) {
        await recording.campaignStoreRevert({
          campaign: id,
          cloud: next.cloud,
          result: { revertError: 'no earlier revision to return to' },
        });
        count(CAMPAIGN_CLOUDS, { campaign: id, kind: 'revert', outcome: 'failed' });
        continue;
      }
      launch(
        {
          campaignId: id,
          cloud: next.cloud,
          service,
          busy: spec.spec.busy,
          unreachable: spec.spec.unreachable,
          kind: 'revert',
          toRevision: next.fromRevision,
        },
        next.wave,
        (r) => {
          if (r.status !== 'reverted') return;
          const counts = state.counts[next.wave];
          if (counts) {
            add(counts, 'patched', -1);
            add(counts, 'reverted');
          }
        },
      );
    }
    await condition(() => inFlight.size === 0);
    state.rollbackDone = true;
  }

  // Clouds never launched: not-started. Written to the store with the final phase, then visible here.
  const phase: CampaignPhase = state.abort ? 'aborted' : state.haltReason ? 'halted' : 'completed';
  const finishedAt = new Date().toISOString();
  closing = true;
  await recording.campaignStorePhase({
    campaign: id,
    phase,
    haltReason: state.haltReason,
    finishedAt,
    notStartedFrom: state.next,
  });
  for (const counts of state.counts) {
    count(CAMPAIGN_CLOUDS, { campaign: id, kind: 'patch', outcome: 'not-started' }, counts.pending ?? 0);
    add(counts, 'not-started', counts.pending ?? 0);
    delete counts.pending;
  }
  state.phase = phase;
  state.finishedAt = finishedAt;
  // The campaign's own row in the Web UI: Outcome = "halted" finds campaigns stopped by their budget.
  if (patched(OUTCOME_ATTRIBUTE_PATCH))
    markOutcome(phase, `campaign ${id}: ${phase}${state.haltReason ? ` (${state.haltReason})` : ''}`);
  await condition(allHandlersFinished);
  return { id, phase: state.phase, totals: totals(), haltReason: state.haltReason };
}
