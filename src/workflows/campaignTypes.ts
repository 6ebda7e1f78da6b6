// State and results of fleet campaigns; shared with clients (they read them from queries and results).
import type { CampaignSpec } from '../campaign/spec';
import type { PlannedWave } from '../campaign/waves';

/** Where one cloud is in a campaign. The last eight are final. */
export type CloudStatus =
  | 'pending'
  | 'running'
  | 'patched'
  | 'already-at-target'
  | 'rolled-back'
  | 'failed'
  | 'skipped-busy'
  | 'skipped-unreachable'
  | 'not-started'
  | 'reverted';

/** Outcomes that need no one's attention: left out of `attention` progress and of `campaign status` without --all. */
export const QUIET_STATUSES: readonly CloudStatus[] = ['patched', 'already-at-target', 'not-started'];

/**
 * What happened to one cloud. `rolled-back` and `failed` count against the failure budget; the
 * skipped ones (`skipped-busy`, `skipped-unreachable`: its hosts did not answer) do not.
 */
export interface CloudOutcome {
  cloud: string;
  status: CloudStatus;
  /** The cloud's revision this campaign made (patch), and the one it replaced. */
  revision?: number;
  fromRevision?: number;
  /** Why it failed, was rolled back or skipped. */
  reason?: string;
  /** Times the cloud was sent the change (a busy cloud, or one whose hosts did not answer, is tried again). */
  attempts?: number;
  /** The revision that took a patched cloud back (campaign rollback). */
  revertRevision?: number;
  /** Why the campaign could not roll a patched cloud back. */
  revertError?: string;
}

/**
 * A campaign's change of a cloud ended with this revision outcome: what that means for the cloud.
 * Shared by the per-cloud workflow and the activity that writes the row (pure).
 */
export function finishedOutcome(
  kind: 'patch' | 'revert',
  base: { cloud: string; revision: number; fromRevision?: number; attempts: number },
  done: { outcome: 'in-progress' | 'applied' | 'rolled-back' | 'failed'; reason?: string },
): CloudOutcome {
  if (done.outcome === 'applied') return { ...base, status: kind === 'patch' ? 'patched' : 'reverted' };
  return { ...base, status: done.outcome === 'rolled-back' ? 'rolled-back' : 'failed', reason: done.reason };
}

/** Why the campaign could not roll a cloud back, as `campaign status` shows it. */
export const revertError = (r: CloudOutcome): string => `rollback ${r.status}: ${r.reason ?? ''}`.trim();

export type CampaignPhase =
  | 'resolving'
  | 'running'
  | 'awaiting-approval'
  | 'baking'
  | 'rolling-back'
  | 'completed'
  | 'halted'
  | 'aborted';

export interface CampaignControl {
  by: string;
  reason: string;
  at: string;
}

export interface WaveProgress extends PlannedWave {
  approved: boolean;
  /** Per-status counts of this wave's clouds. */
  counts: Partial<Record<CloudStatus, number>>;
}

export interface CampaignProgress {
  id: string;
  service: string;
  image: string;
  phase: CampaignPhase;
  paused: CampaignControl | null;
  abort: (CampaignControl & { inFlight: 'finish' | 'rollback' }) | null;
  /** Why the campaign stopped launching (the failure budget). */
  haltReason: string | null;
  startedAt: string;
  finishedAt: string | null;
  currentWave: number | null;
  waves: WaveProgress[];
  totals: Partial<Record<CloudStatus, number>>;
  clouds: number;
  inFlight: string[];
  /**
   * Per-cloud outcomes. From the workflow query: only the clouds in flight (every outcome lives in the
   * record store, table campaign_clouds; CampaignClient.progress fills this from there). Campaigns
   * started before the store answer every outcome here, as they always did.
   */
  outcomes: Record<string, CloudOutcome>;
  /** How many times the campaign continued as new (history kept bounded). */
  runs: number;
}

/** Per-status counts of a set of clouds. */
export type StatusCounts = Partial<Record<CloudStatus, number>>;

/**
 * Everything a campaign carries across continue-as-new: counters and flags, never a list of clouds,
 * so its size does not depend on the fleet's. The clouds and their outcomes live in the record store
 * (campaign_clouds, keyed by campaign + cloud, in launch order by `position`).
 */
export interface CampaignState {
  version: 2;
  /** The spec; once resolved, without its list of names (they are rows in the store). */
  spec: CampaignSpec;
  startedBy: string;
  startedAt: string;
  /** Clouds in waves (positions 0 .. clouds-1). */
  clouds: number;
  waves: PlannedWave[];
  /** Per wave: how many of its clouds have each status. */
  counts: StatusCounts[];
  /** Clouds outside every wave (named but not managed): their statuses. */
  outside: StatusCounts;
  /** Position of the next cloud to launch. */
  next: number;
  approved: number[];
  /** Waves whose bake has finished. */
  baked: number[];
  paused: CampaignControl | null;
  abort: (CampaignControl & { inFlight: 'finish' | 'rollback' }) | null;
  haltReason: string | null;
  phase: CampaignPhase;
  runs: number;
  rollbackDone: boolean;
  /** Campaign rollback: the position of the last patched cloud handed to a revert (-1: none yet). */
  rollbackAfter: number;
  /** Failed clouds per wave (index) and in total: the failure budget's account. */
  failures: { perWave: number[]; total: number };
  finishedAt?: string;
}

/** What campaigns started before the record store carried: every cloud and outcome in the workflow. */
export interface LegacyCampaignState {
  spec: CampaignSpec;
  startedBy: string;
  startedAt: string;
  clouds: string[];
  waves: PlannedWave[];
  /** Index of the next cloud to launch. */
  next: number;
  outcomes: Record<string, CloudOutcome>;
  approved: number[];
  /** Waves whose bake has finished. */
  baked: number[];
  paused: CampaignControl | null;
  abort: (CampaignControl & { inFlight: 'finish' | 'rollback' }) | null;
  haltReason: string | null;
  phase: CampaignPhase;
  runs: number;
  rollbackDone: boolean;
  /** Failed clouds per wave (index) and in total: the failure budget's account. */
  failures: { perWave: number[]; total: number };
  finishedAt?: string;
}

export interface CampaignResult {
  id: string;
  phase: CampaignPhase;
  totals: Partial<Record<CloudStatus, number>>;
  haltReason: string | null;
}
