// Activities that keep campaigns in the record store: the campaign's row and phase, one row per cloud
// with its outcome, and pages of clouds to launch or roll back. Every write is an idempotent upsert or
// keyed update (campaign + cloud), so a retried or replayed activity never duplicates or loses a row.
import { heartbeat } from '@temporalio/activity';
import {
  CampaignStore,
  type CampaignCloudRef,
  type CampaignCloudRow,
  type CampaignHeader,
} from '../store/campaignStore';
import type { Db } from '../store/db';
import type { CampaignPhase, CloudOutcome } from '../workflows/campaignTypes';

export interface CampaignStoreActivityDeps {
  db: () => Db;
}

export function createCampaignStoreActivities(deps: CampaignStoreActivityDeps) {
  const store = () => new CampaignStore(deps.db());
  return {
    /** The campaign's row (a campaign moved in from before the store). */
    async campaignStoreBegin(header: CampaignHeader): Promise<void> {
      await store().begin(header);
    },

    /** One chunk of a campaign's cloud list and outcomes moved in from workflow state (upgrade). */
    async campaignStoreImport(input: { campaign: string; rows: CampaignCloudRow[] }): Promise<void> {
      heartbeat(input.rows.length);
      await store().importRows(input.campaign, input.rows);
    },

    /** One cloud's outcome (or `running`). */
    async campaignStoreOutcome(input: { campaign: string; outcome: CloudOutcome }): Promise<void> {
      await store().setOutcome(input.campaign, input.outcome);
    },

    /** The campaign rolled a patched cloud back (revertRevision), or could not (revertError). */
    async campaignStoreRevert(input: {
      campaign: string;
      cloud: string;
      result: { revertRevision: number } | { revertError: string };
    }): Promise<void> {
      await store().setRevert(input.campaign, input.cloud, input.result);
    },

    /** The campaign's phase; when it ends, clouds from `notStartedFrom` on that never started become not-started. */
    async campaignStorePhase(input: {
      campaign: string;
      phase: CampaignPhase;
      haltReason: string | null;
      finishedAt: string | null;
      notStartedFrom?: number;
    }): Promise<void> {
      const s = store();
      if (input.notStartedFrom !== undefined) await s.markNotStarted(input.campaign, input.notStartedFrom);
      await s.setPhase(input.campaign, input);
    },

    /** The next clouds to launch, in order, from position `from`. */
    async campaignStorePage(input: {
      campaign: string;
      from: number;
      limit: number;
    }): Promise<CampaignCloudRef[]> {
      return store().page(input.campaign, input.from, input.limit);
    },

    /** Patched clouds to roll back, in order, after position `after`. */
    async campaignStorePatchedPage(input: {
      campaign: string;
      after: number;
      limit: number;
    }): Promise<Array<CampaignCloudRef & { fromRevision: number | null }>> {
      return store().patchedPage(input.campaign, input.after, input.limit);
    },
  };
}
