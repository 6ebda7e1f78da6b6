// THE PREVIOUS CAMPAIGN IMPLEMENTATION, kept verbatim (only renamed): campaigns started before the record
// store (whole state in the workflow) replay through it. campaignWorkflow runs it when
// patched(RECORD_STORE_PATCH) is false; its continue-as-new hands the old-shaped state to the new code,
// which moves it into the store. Do not change the commands it issues. Remove once no such campaign runs.
//
// A fleet campaign (workflow id campaign:<name>): one service patched to one image across many
// clouds, wave by wave (canary first), a bounded number at a time, baking between waves, halting when
// the failure budget is spent (and, if asked, rolling back every cloud it patched). Each cloud is a
// child workflow that goes through the cloud's own apply/rollback updates: a campaign reuses the
// per-cloud patch path. People and other systems steer it with the updates in campaignMessages.ts.
// History stays bounded: past maxHistoryEvents it continues as new (between launches, nothing in
// flight), carrying only its compact state.
import {
  ApplicationFailure,
  condition,
  continueAsNew,
  executeChild,
  allHandlersFinished,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { Activities } from '../activities';
import type { CampaignSpec } from '../campaign/spec';
import { planWaves } from '../campaign/waves';
import { imageVersion } from '../record/identity';
import { zodIssues } from '../record/zodIssues';
import { carryLegacyState as carryState, restoreLegacyState as restoreState } from './campaignCarry';
import type { CampaignInput } from './campaign';
import { campaignCloudWorkflow, type CampaignCloudInput } from './campaignCloud';
import { campaignCloudWorkflowId } from './campaignIds';
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
import type {
  CampaignProgress,
  CampaignResult,
  LegacyCampaignState as CampaignState,
  CloudOutcome,
  CloudStatus,
  WaveProgress,
} from './campaignTypes';
import { QUIET_STATUSES } from './campaignTypes';
import { failureMessage } from './failures';
import { CAMPAIGN_ID, CLOUD, SERVICE, TARGET_VERSION } from './searchAttributes';

const resolving = proxyActivities<Activities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '60s',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

const FAILED: CloudStatus[] = ['rolled-back', 'failed'];
const FINISHED_PHASES = ['completed', 'halted', 'aborted'];

function reject(type: string, message: string, details?: unknown): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true, details: details ? [details] : [] });
}

/** Parses a control payload or rejects it, naming each wrong field and the value found there. */
function parsePayload<S extends z.ZodType>(schema: S, payload: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issues = zodIssues(parsed.error, payload, schema);
  reject(
    'INVALID_INPUT',
    `invalid ${what} payload: ${issues.map((i) => `${i.path}: ${i.message}${i.value !== undefined ? ` (got ${JSON.stringify(i.value)})` : ''}`).join('; ')}`,
    { issues },
  );
}

export async function legacyCampaignWorkflow(input: CampaignInput): Promise<CampaignResult> {
  const carried = input.state ? restoreState(input.state as never) : undefined;
  const spec: CampaignSpec = carried?.spec ?? campaignSpec().CampaignSpecSchema.parse(input.spec);
  const id = spec.metadata.name;
  const { service, image, concurrency, bake, failureBudget } = spec.spec;
  const maxHistoryEvents = input.maxHistoryEvents ?? 8_000;
  const state: CampaignState = carried ?? {
    spec,
    startedBy: input.startedBy,
    startedAt: new Date().toISOString(),
    clouds: [],
    waves: [],
    next: 0,
    outcomes: {},
    approved: [],
    baked: [],
    paused: null,
    abort: null,
    haltReason: null,
    phase: 'resolving',
    runs: 0,
    rollbackDone: false,
    failures: { perWave: [], total: 0 },
  };
  const inFlight = new Set<string>();
  let currentWave: number | null = null;

  const finished = () => FINISHED_PHASES.includes(state.phase);
  const stopping = () => state.haltReason !== null || state.abort !== null;
  const ack = (message: string): ControlAck => ({
    phase: state.phase,
    paused: state.paused !== null,
    message,
  });
  const refuseIfFinished = (what: string) => {
    if (finished()) reject('CAMPAIGN_FINISHED', `campaign ${id} has ${state.phase}; nothing to ${what}`);
  };

  setHandler(campaignProgressQuery, (options?: ProgressOptions): CampaignProgress =>
    progress(parsePayload(campaignPayloads().ProgressOptions, options, 'progress').outcomes),
  );
  setHandler(
    pauseCampaignUpdate,
    (payload) => {
      const p = campaignPayloads().PausePayload.parse(payload);
      state.paused ??= { by: p.by, reason: p.reason, at: new Date().toISOString() };
      return ack('paused: no new cloud starts; clouds in flight finish');
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
    (payload) => {
      campaignPayloads().ResumePayload.parse(payload);
      const was = state.paused !== null;
      state.paused = null;
      return ack(was ? 'resumed' : 'was not paused');
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
    (payload) => {
      const p = campaignPayloads().AbortPayload.parse(payload);
      // A second abort may only widen it (finish -> rollback).
      if (!state.abort || p.inFlight === 'rollback')
        state.abort = { by: p.by, reason: p.reason, at: new Date().toISOString(), inFlight: p.inFlight };
      return ack(
        state.abort.inFlight === 'rollback'
          ? 'aborting: no new cloud starts; when the clouds in flight finish, every cloud this campaign patched is rolled back'
          : 'aborting: no new cloud starts; the clouds in flight finish',
      );
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
    (payload) => {
      const p = campaignPayloads().ApprovePayload.parse(payload);
      if (!state.approved.includes(p.wave - 1)) state.approved.push(p.wave - 1);
      return ack(`wave ${p.wave} approved`);
    },
    {
      validator: (payload) => {
        const p = parsePayload(campaignPayloads().ApprovePayload, payload, 'approve');
        refuseIfFinished('approve');
        const waves = state.waves.length || spec.spec.waves.length + 1;
        if (p.wave > waves)
          reject(
            'INVALID_INPUT',
            `invalid approve payload: wave: campaign ${id} has ${waves} waves (got ${p.wave})`,
          );
      },
    },
  );

  function progress(which: 'all' | 'attention' | 'none' = 'all'): CampaignProgress {
    const totals: Partial<Record<CloudStatus, number>> = {};
    const waves: WaveProgress[] = state.waves.map((w) => {
      const counts: Partial<Record<CloudStatus, number>> = {};
      for (let i = w.start; i < w.end; i++) {
        const status = state.outcomes[state.clouds[i]!]?.status ?? 'pending';
        counts[status] = (counts[status] ?? 0) + 1;
        totals[status] = (totals[status] ?? 0) + 1;
      }
      return { ...w, approved: !w.approval || state.approved.includes(w.index), counts };
    });
    // Clouds the spec named but Patchbay does not manage have an outcome outside every wave.
    // A Set, not clouds.includes: that was quadratic, ~10^8 compares per query at 10,000 clouds.
    const planned = new Set(state.clouds);
    for (const o of Object.values(state.outcomes))
      if (!planned.has(o.cloud)) totals[o.status] = (totals[o.status] ?? 0) + 1;
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
      totals,
      clouds: state.clouds.length,
      inFlight: [...inFlight],
      outcomes:
        which === 'all'
          ? state.outcomes
          : which === 'none'
            ? {}
            : Object.fromEntries(
                Object.entries(state.outcomes).filter(([, o]) => !QUIET_STATUSES.includes(o.status)),
              ),
      runs: state.runs,
    };
  }

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

  const recordOutcome = (outcome: CloudOutcome, wave: number | null) => {
    state.outcomes[outcome.cloud] = outcome;
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

  /** Starts one cloud's child; its outcome is recorded when it ends. */
  const launch = (
    input: CampaignCloudInput,
    wave: number | null,
    revert: boolean,
    onDone?: (o: CloudOutcome) => void,
  ) => {
    inFlight.add(input.cloud);
    void executeChild(campaignCloudWorkflow, { ...childOptions(input.cloud, revert), args: [input] })
      .catch((error: unknown): CloudOutcome => ({
        cloud: input.cloud,
        status: 'failed',
        reason: failureMessage(error),
      }))
      .then((outcome) => (onDone ? onDone(outcome) : recordOutcome(outcome, wave)))
      .finally(() => inFlight.delete(input.cloud));
  };

  /** Continue as new when the history grows long: only between launches, with nothing in flight. */
  const bounded = async () => {
    const info = workflowInfo();
    if (info.historyLength < maxHistoryEvents && !info.continueAsNewSuggested) return;
    await condition(() => inFlight.size === 0 && allHandlersFinished());
    state.runs++;
    // The spec travels inside the state (without its cloud list): not a second time beside it.
    await continueAsNew<typeof legacyCampaignWorkflow>({
      spec: null,
      startedBy: input.startedBy,
      maxHistoryEvents,
      state: carryState(state),
    });
  };

  if (state.phase === 'resolving') {
    const resolved = await resolving.resolveCampaignClouds({
      names: spec.spec.clouds.names,
      matchLabels: spec.spec.clouds.selector?.matchLabels,
    });
    state.clouds = resolved.clouds;
    for (const cloud of resolved.unknown)
      state.outcomes[cloud] = {
        cloud,
        status: 'failed',
        reason: `Patchbay manages no cloud named "${cloud}"`,
      };
    state.waves = planWaves(state.clouds.length, spec.spec.waves);
    state.phase = 'running';
  }

  for (const wave of state.waves) {
    if (stopping()) break;
    if (state.baked.includes(wave.index)) continue;
    currentWave = wave.index;
    if (state.next === wave.start && wave.approval && !state.approved.includes(wave.index)) {
      state.phase = 'awaiting-approval';
      await condition(() => state.approved.includes(wave.index) || stopping());
      if (stopping()) break;
    }
    state.phase = 'running';
    while (state.next < wave.end) {
      await condition(() => stopping() || (state.paused === null && inFlight.size < concurrency));
      if (stopping()) break;
      await bounded();
      const cloud = state.clouds[state.next]!;
      state.outcomes[cloud] = { cloud, status: 'running' };
      launch(
        { campaignId: id, cloud, service, busy: spec.spec.busy, kind: 'patch', image },
        wave.index,
        false,
      );
      state.next++;
    }
    await condition(() => inFlight.size === 0);
    if (stopping()) break;
    if (wave.index < state.waves.length - 1 && bake > 0) {
      state.phase = 'baking';
      await condition(stopping, bake);
      if (stopping()) break;
    }
    state.baked.push(wave.index);
    // A pause also holds the next wave.
    await condition(() => state.paused === null || stopping());
  }
  await condition(() => inFlight.size === 0);

  const rollbackWanted =
    (state.haltReason !== null && failureBudget.onExceeded === 'rollback') ||
    state.abort?.inFlight === 'rollback';
  if (rollbackWanted && !state.rollbackDone) {
    state.phase = 'rolling-back';
    const patched = () =>
      Object.values(state.outcomes).filter(
        (o) => o.status === 'patched' && !o.revertError && !inFlight.has(o.cloud),
      );
    for (let todo = patched(); todo.length > 0; todo = patched()) {
      const outcome = todo[0]!;
      await condition(() => inFlight.size < concurrency);
      await bounded();
      if (outcome.fromRevision === undefined) {
        outcome.revertError = 'no earlier revision to return to';
        continue;
      }
      launch(
        {
          campaignId: id,
          cloud: outcome.cloud,
          service,
          busy: spec.spec.busy,
          kind: 'revert',
          toRevision: outcome.fromRevision,
        },
        null,
        true,
        (r) => {
          if (r.status === 'reverted') {
            outcome.status = 'reverted';
            outcome.revertRevision = r.revision;
          } else {
            outcome.revertError = `rollback ${r.status}: ${r.reason ?? ''}`.trim();
          }
        },
      );
    }
    await condition(() => inFlight.size === 0);
    state.rollbackDone = true;
  }

  for (let i = state.next; i < state.clouds.length; i++) {
    const cloud = state.clouds[i]!;
    state.outcomes[cloud] ??= { cloud, status: 'not-started' };
  }
  state.phase = state.abort ? 'aborted' : state.haltReason ? 'halted' : 'completed';
  state.finishedAt = new Date().toISOString();
  await condition(allHandlersFinished);
  return { id, phase: state.phase, totals: progress().totals, haltReason: state.haltReason };
}
