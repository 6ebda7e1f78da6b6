// One cloud of a campaign (workflow id campaign:<id>:<cloud>, or …:revert): send the cloud its patch
// through the cloud's own apply update (or the campaign's rollback through its rollback update), wait
// for the cloud to record the outcome, and say what happened. A busy cloud is tried again later or
// skipped, as the campaign says.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CampaignSpec } from '../campaign/spec';
import type { CloudOutcome } from './campaignTypes';

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
} & ({ kind: 'patch'; image: string } | { kind: 'revert'; toRevision: number });

export async function campaignCloudWorkflow(input: CampaignCloudInput): Promise<CloudOutcome> {
  const { cloud } = input;
  for (let attempts = 1; ; attempts++) {
    const sent = await submit.submitCloudChange(
      input.kind === 'patch'
        ? { campaignId: input.campaignId, cloud, service: input.service, kind: 'patch', image: input.image }
        : {
            campaignId: input.campaignId,
            cloud,
            service: input.service,
            kind: 'revert',
            toRevision: input.toRevision,
          },
    );
    switch (sent.kind) {
      case 'invalid':
        return { cloud, status: 'failed', reason: sent.reason, attempts };
      case 'at-target':
        return { cloud, status: 'already-at-target', revision: sent.revision ?? undefined, attempts };
      case 'busy':
        if (input.busy.action === 'retry' && attempts <= input.busy.retries) {
          await sleep(input.busy.interval);
          continue;
        }
        return { cloud, status: 'skipped-busy', reason: `busy: ${sent.reason}`, attempts };
      case 'accepted': {
        let done = await submit.cloudChangeOutcome({ cloud, revision: sent.revision });
        for (let wait = POLL.firstMs; !done; wait = Math.min(POLL.maxMs, wait * POLL.factor)) {
          await sleep(wait);
          done = await submit.cloudChangeOutcome({ cloud, revision: sent.revision });
        }
        const base = {
          cloud,
          revision: sent.revision,
          fromRevision: sent.fromRevision ?? undefined,
          attempts,
        };
        if (done.outcome === 'applied')
          return { ...base, status: input.kind === 'patch' ? 'patched' : 'reverted' };
        return {
          ...base,
          status: done.outcome === 'rolled-back' ? 'rolled-back' : 'failed',
          reason: done.reason,
        };
      }
    }
  }
}
