// What a campaign does to each cloud, through the cloud's own documented updates and queries (the
// per-cloud patch path, not a second implementation of it). Idempotent: a retried submit finds the
// revision it already made (by author and message) instead of making another.
import { heartbeat } from '@temporalio/activity';
import { ApplicationFailure, type Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { withImage } from '../record/withImage';
import { cloudWorkflowId } from '../workflows/ids';
import { applyUpdate, cloudStateQuery, rollbackUpdate } from '../workflows/messages';
import type { CloudState, Revision } from '../workflows/types';

export interface CampaignActivityDeps {
  /** A Temporal client on the worker's namespace (campaigns talk to cloud workflows). */
  temporal: () => Client;
}

export type SubmitInput = {
  campaignId: string;
  cloud: string;
  service: string;
} & ({ kind: 'patch'; image: string } | { kind: 'revert'; toRevision: number });

export type SubmitResult =
  | { kind: 'accepted'; revision: number; fromRevision: number | null }
  | { kind: 'at-target'; revision: number | null }
  | { kind: 'busy'; reason: string }
  | { kind: 'invalid'; reason: string };

export interface AwaitResult {
  outcome: Revision['outcome'];
  reason?: string;
}

export const campaignAuthor = (campaignId: string): string => `campaign:${campaignId}`;
const messagePrefix = (input: SubmitInput): string =>
  `campaign ${input.campaignId}: ${input.kind} ${input.service}`;

const NOT_FOUND_CODE = 5;

async function cloudState(client: Client, cloud: string): Promise<CloudState | null> {
  try {
    return await client.workflow.getHandle(cloudWorkflowId(cloud)).query(cloudStateQuery);
  } catch (error) {
    const code = (error as { code?: number }).code;
    const name = (error as Error).name;
    if (code === NOT_FOUND_CODE || name === 'WorkflowNotFoundError') return null;
    throw error;
  }
}

/** The last applied revision before `revision`. */
function appliedBefore(state: CloudState, revision: number): number | null {
  const earlier = state.revisions.filter((r) => r.number < revision && r.outcome === 'applied');
  return earlier.length ? earlier[earlier.length - 1]!.number : null;
}

function matchesLabels(state: CloudState, labels: Record<string, string>): boolean {
  const record = state.revisions.find((r) => r.number === state.current)?.record;
  const have = record?.metadata.labels ?? {};
  return Object.entries(labels).every(([k, v]) => have[k] === v);
}

export function createCampaignActivities(deps: CampaignActivityDeps) {
  return {
    /** The clouds a campaign targets: named ones (unknown names reported) and those whose labels match. */
    async resolveCampaignClouds(input: {
      names: string[];
      matchLabels?: Record<string, string>;
    }): Promise<{ clouds: string[]; unknown: string[] }> {
      const client = deps.temporal();
      const managed: string[] = [];
      for await (const wf of client.workflow.list({
        query: `WorkflowType = 'cloudWorkflow' AND ExecutionStatus = 'Running'`,
      })) {
        if (wf.workflowId.startsWith('cloud:')) managed.push(wf.workflowId.slice('cloud:'.length));
        if (managed.length % 200 === 0) heartbeat(managed.length);
      }
      const known = new Set(managed);
      // Visibility lags a little behind: a named cloud not listed yet is asked directly.
      for (const name of input.names)
        if (!known.has(name) && (await cloudState(client, name))) known.add(name);
      const chosen = new Set(input.names.filter((n) => known.has(n)));
      const unknown = input.names.filter((n) => !known.has(n));
      if (input.matchLabels) {
        for (const name of managed) {
          if (chosen.has(name)) continue;
          const state = await cloudState(client, name);
          if (state && matchesLabels(state, input.matchLabels)) chosen.add(name);
          heartbeat(name);
        }
      }
      return { clouds: [...chosen].sort(), unknown };
    },

    /** Sends one cloud its patch (or the campaign's rollback of it) as a new revision. */
    async submitCloudChange(input: SubmitInput): Promise<SubmitResult> {
      const client = deps.temporal();
      const state = await cloudState(client, input.cloud);
      if (!state) return { kind: 'invalid', reason: `Patchbay manages no cloud named "${input.cloud}"` };
      const author = campaignAuthor(input.campaignId);
      const prefix = messagePrefix(input);
      // Already sent (a retry after a crash): adopt that revision, never send a second one.
      const mine = state.revisions.find((r) => r.author === author && r.message.startsWith(prefix));
      if (mine)
        return { kind: 'accepted', revision: mine.number, fromRevision: appliedBefore(state, mine.number) };
      const current = state.revisions.find((r) => r.number === state.current);
      if (!current) return { kind: 'invalid', reason: `cloud "${input.cloud}" has no applied revision yet` };
      const service = current.record.spec.services.find((s) => s.name === input.service);
      if (!service)
        return { kind: 'invalid', reason: `cloud "${input.cloud}" has no service "${input.service}"` };
      if (input.kind === 'patch' && service.image === input.image)
        return { kind: 'at-target', revision: state.current };
      if (state.active)
        return {
          kind: 'busy',
          reason: `revision ${state.active.revision} (${state.active.kind} by ${state.active.author}) is running`,
        };
      const handle = client.workflow.getHandle(cloudWorkflowId(input.cloud));
      try {
        const accepted =
          input.kind === 'patch'
            ? await handle.executeUpdate(applyUpdate, {
                args: [
                  {
                    record: withImage(current.record, input.service, input.image),
                    message: `${prefix} to ${input.image}`,
                    author,
                  },
                ],
              })
            : await handle.executeUpdate(rollbackUpdate, {
                args: [
                  {
                    service: input.service,
                    toRevision: input.toRevision,
                    message: `${prefix} to revision ${input.toRevision}`,
                    author,
                  },
                ],
              });
        return { kind: 'accepted', revision: accepted.revision, fromRevision: state.current };
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
          if (error.cause.type === 'CLOUD_BUSY') return { kind: 'busy', reason: error.cause.message };
          return { kind: 'invalid', reason: error.cause.message };
        }
        throw error;
      }
    },

    /**
     * The outcome of a revision once the cloud has recorded it, else null. Short on purpose: a
     * campaign waits between calls in the workflow (a timer), never in an activity, so hundreds of
     * clouds in flight do not fill the worker's activity slots that their own changes need.
     */
    async cloudChangeOutcome(input: { cloud: string; revision: number }): Promise<AwaitResult | null> {
      const state = await cloudState(deps.temporal(), input.cloud);
      const revision = state?.revisions.find((r) => r.number === input.revision);
      if (!revision)
        throw ApplicationFailure.nonRetryable(
          `cloud "${input.cloud}" has no revision ${input.revision}`,
          'NOT_FOUND',
        );
      if (revision.outcome === 'in-progress' || state?.active?.revision === input.revision) return null;
      return { outcome: revision.outcome, reason: revision.reason };
    },
  };
}
