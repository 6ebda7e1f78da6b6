// One cloud of a campaign (workflow id campaign:<id>:<cloud>, or …:revert): send the cloud its patch
// through the cloud's own apply update (or the campaign's rollback through its rollback update), wait
// for the cloud to record the outcome, and say what happened. A busy cloud is tried again later or
// skipped, as the campaign says. Children of campaigns that keep their outcomes in the record store
// (input.store) write their own row there before they return: the submit marks it `running`, the
// check that sees the cloud's revision finish writes the outcome (no activity of its own on that
// path); the other ends (invalid, at target, busy) are written here.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CampaignSpec } from '../campaign/spec';
import { recording } from './activityProxies';
import { finishedOutcome, revertError, type CloudOutcome } from './campaignTypes';

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
  /** Write this cloud's row in campaign_clouds (campaigns since the record store; absent before). */
  store?: boolean;
} & ({ kind: 'patch'; image: string } | { kind: 'revert'; toRevision: number });

export async function campaignCloudWorkflow(input: CampaignCloudInput): Promise<CloudOutcome> {
  const { outcome, stored } = await carryOut(input);
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

async function carryOut(input: CampaignCloudInput): Promise<{ outcome: CloudOutcome; stored: boolean }> {
  const { cloud } = input;
  const done = (outcome: CloudOutcome) => ({ outcome, stored: false });
  for (let attempts = 1; ; attempts++) {
    // Campaigns in the store: the submit marks the cloud running, the outcome check writes its outcome.
    const record = input.store ? { attempts } : undefined;
    const sent = await submit.submitCloudChange(
      input.kind === 'patch'
        ? {
            campaignId: input.campaignId,
            cloud,
            service: input.service,
            kind: 'patch',
            image: input.image,
            record,
          }
        : {
            campaignId: input.campaignId,
            cloud,
            service: input.service,
            kind: 'revert',
            toRevision: input.toRevision,
            record,
          },
    );
    switch (sent.kind) {
      case 'invalid':
        return done({ cloud, status: 'failed', reason: sent.reason, attempts });
      case 'at-target':
        return done({ cloud, status: 'already-at-target', revision: sent.revision ?? undefined, attempts });
      case 'busy':
        if (input.busy.action === 'retry' && attempts <= input.busy.retries) {
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
        return { outcome: finishedOutcome(input.kind, base, finished), stored: input.store === true };
      }
    }
  }
}
