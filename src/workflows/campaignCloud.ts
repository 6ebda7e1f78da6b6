// One cloud of a campaign (workflow id campaign:<id>:<cloud>, or …:revert): send the cloud its patch
// through the cloud's own apply update (or the campaign's rollback through its rollback update), wait
// for the cloud to record the outcome, and say what happened. A busy cloud, and one whose change
// preflight refused only because hosts did not answer (an agent offline: it holds back its own cloud,
// no other), is tried again later or skipped, as the campaign says. Children of campaigns that keep
// their outcomes in the record store (input.store) write their own row there before they return: the
// submit marks it `running`, the check that sees the cloud's revision finish writes the outcome (no
// activity of its own on that path); the other ends (invalid, at target, busy, unreachable) are
// written here.
import { patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CampaignSpec } from '../campaign/spec';
import { formatDuration } from '../record/duration';
import { recording } from './activityProxies';
import { finishedOutcome, revertError, type CloudOutcome } from './campaignTypes';
import { markOutcome } from './outcomeAttribute';
import { OUTCOME_ATTRIBUTE_PATCH } from './patches';

const submit = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});
/** Between looks at the cloud: quick at first (most patches take seconds), then every 15 s at most. */
const POLL = { firstMs: 500, factor: 1.5, maxMs: 15_000 };

export type CampaignCloudInput = {
  campaignId: string;
  cloud: string;
  service: string;
  busy: CampaignSpec['spec']['busy'];
  /** Hosts that did not answer: try again or skip (absent in campaigns from before it: the spec's defaults). */
  unreachable?: CampaignSpec['spec']['unreachable'];
  /** Write this cloud's row in campaign_clouds (campaigns since the record store; absent before). */
  store?: boolean;
} & ({ kind: 'patch'; image: string } | { kind: 'revert'; toRevision: number });

export async function campaignCloudWorkflow(input: CampaignCloudInput): Promise<CloudOutcome> {
  const { outcome, stored } = await carryOut(input);
  if (patched(OUTCOME_ATTRIBUTE_PATCH))
    markOutcome(
      outcome.status,
      `${input.kind === 'patch' ? 'patch' : 'revert'} of ${input.cloud}: ${outcome.status}${outcome.revision !== undefined ? ` (revision ${outcome.revision})` : ''}${outcome.reason ? `: ${outcome.reason}` : ''}`,
    );
  // The usual end (the cloud's revision finished) was written by the activity that saw it; the others here.
  if (input.store && !stored) {
    const campaign = input.campaignId;
    if (input.kind === 'patch') await recording.campaignStoreOutcome({ campaign, outcome });
    else
      await recording.campaignStoreRevert({
        campaign,
        cloud: input.cloud,
        result:
          outcome.status === 'reverted' && outcome.revision !== undefined
            ? { revertRevision: outcome.revision }
            : { revertError: revertError(outcome) },
      });
  }
  return outcome;
}

/**
 * What `unreachable` says when the campaign's spec has none (started before it): UnreachablePolicy's
 * defaults, written out so this workflow loads no zod (test/campaign/spec.test.ts holds them equal).
 */
export const UNREACHABLE_DEFAULT: NonNullable<CampaignSpec['spec']['unreachable']> = {
  action: 'retry',
  retries: 10,
  interval: 60_000,
};

async function carryOut(input: CampaignCloudInput): Promise<{ outcome: CloudOutcome; stored: boolean }> {
  const { cloud } = input;
  const done = (outcome: CloudOutcome) => ({ outcome, stored: false });
  /** The last revision refused because hosts did not answer, and how many were. */
  let refused: { revision: number; times: number } | undefined;
  /** Times the cloud was found busy. */
  let busy = 0;
  for (let attempts = 1; ; attempts++) {
    // Campaigns in the store: the submit marks the cloud running, the outcome check writes its outcome.
    const record = input.store ? { attempts } : undefined;
    // Sent again after a refused revision: only a newer one is this attempt's.
    const after = refused ? { after: refused.revision } : {};
    const sent = await submit.submitCloudChange(
      input.kind === 'patch'
        ? {
            campaignId: input.campaignId,
            cloud,
            service: input.service,
            kind: 'patch',
            image: input.image,
            record,
            ...after,
          }
        : {
            campaignId: input.campaignId,
            cloud,
            service: input.service,
            kind: 'revert',
            toRevision: input.toRevision,
            record,
            ...after,
          },
    );
    switch (sent.kind) {
      case 'invalid':
        return done({ cloud, status: 'failed', reason: sent.reason, attempts });
      case 'at-target':
        return done({ cloud, status: 'already-at-target', revision: sent.revision ?? undefined, attempts });
      case 'busy':
        busy++;
        if (input.busy.action === 'retry' && busy <= input.busy.retries) {
          await sleep(input.busy.interval);
          continue;
        }
        return done({ cloud, status: 'skipped-busy', reason: `busy: ${sent.reason}`, attempts });
      case 'accepted': {
        const base = {
          cloud,
          revision: sent.revision,
          fromRevision: sent.fromRevision ?? undefined,
          attempts,
        };
        const check = {
          cloud,
          revision: sent.revision,
          record: input.store ? { campaignId: input.campaignId, kind: input.kind, base } : undefined,
        };
        let finished = await submit.cloudChangeOutcome(check);
        for (let wait = POLL.firstMs; !finished; wait = Math.min(POLL.maxMs, wait * POLL.factor)) {
          await sleep(wait);
          finished = await submit.cloudChangeOutcome(check);
        }
        const hosts = finished.unreachableHosts;
        if (!hosts?.length)
          return { outcome: finishedOutcome(input.kind, base, finished), stored: input.store === true };
        // Preflight refused it, nothing touched, only because these hosts did not answer (the check
        // wrote no outcome): try again later, or skip the cloud; either way the campaign goes on.
        const policy = input.unreachable ?? UNREACHABLE_DEFAULT;
        refused = { revision: sent.revision, times: (refused?.times ?? 0) + 1 };
        const unreachable = `host${hosts.length > 1 ? 's' : ''} unreachable: ${hosts.join(', ')}`;
        if (policy.action === 'retry' && refused.times <= policy.retries) {
          // A patch's row says why it waits (a revert leaves the patched row alone).
          if (input.store && input.kind === 'patch')
            await recording.campaignStoreOutcome({
              campaign: input.campaignId,
              outcome: {
                ...base,
                status: 'running',
                reason: `${unreachable} (revision ${sent.revision} refused at preflight); trying again in ${formatDuration(policy.interval)} (retry ${refused.times} of ${policy.retries})`,
              },
            });
          await sleep(policy.interval);
          continue;
        }
        const which =
          refused.times === 1
            ? `revision ${sent.revision} refused at preflight`
            : `${refused.times} revisions refused at preflight, the last ${sent.revision}`;
        return done({
          ...base,
          status: 'skipped-unreachable',
          reason: `${unreachable} (${which}; nothing touched)`,
        });
      }
    }
  }
}
