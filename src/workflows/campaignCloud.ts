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
const waiting = proxyActivities<Activities>({
  startToCloseTimeout: '6h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});

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
        const done = await waiting.awaitCloudChange({ cloud, revision: sent.revision });
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
