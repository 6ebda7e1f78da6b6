// State and results of fleet campaigns; shared with clients (they read them from queries and results).
import type { CampaignSpec } from '../campaign/spec';
import type { PlannedWave } from '../campaign/waves';

/** Where one cloud is in a campaign. The last six are final. */
export type CloudStatus =
  | 'pending'
  | 'running'
  | 'patched'
  | 'already-at-target'
  | 'rolled-back'
  | 'failed'
  | 'skipped-busy'
  | 'not-started'
  | 'reverted';

/** Outcomes that need no one's attention: left out of `attention` progress and of `campaign status` without --all. */
export const QUIET_STATUSES: readonly CloudStatus[] = ['patched', 'already-at-target', 'not-started'];

/** What happened to one cloud. `rolled-back` and `failed` count against the failure budget. */
export interface CloudOutcome {
  cloud: string;
  status: CloudStatus;
  /** The cloud's revision this campaign made (patch), and the one it replaced. */
  revision?: number;
  fromRevision?: number;
  /** Why it failed, was rolled back or skipped. */
  reason?: string;
  /** Times a busy cloud was tried. */
  attempts?: number;
  /** The revision that took a patched cloud back (campaign rollback). */
  revertRevision?: number;
  /** Why the campaign could not roll a patched cloud back. */
  revertError?: string;
}

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
  /** Final (or last known) outcome of every cloud that has one. */
  outcomes: Record<string, CloudOutcome>;
  /** How many times the campaign continued as new (history kept bounded). */
  runs: number;
}

/** Everything a campaign carries across continue-as-new. */
export interface CampaignState {
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
