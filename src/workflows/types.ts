// State and results of the workflows; shared with clients (they read them from queries and results).
import type { CloudRecord, ServiceSpec } from '../record/schema';
import type { JobResult } from '../activities/types';
import type { CompensationStep, RuntimeTarget } from './runtimes/steps';

export type { CompensationStep } from './runtimes/steps';

export type RevisionOutcome = 'in-progress' | 'applied' | 'rolled-back' | 'failed';

export interface Revision {
  number: number;
  record: CloudRecord;
  message: string;
  author: string;
  /** ISO time the revision was accepted. */
  createdAt: string;
  finishedAt?: string;
  outcome: RevisionOutcome;
  /** Why a revision did not apply: instance, check and last response. */
  reason?: string;
  /** Set for revisions made by `rollback`: which service was taken back to which revision. */
  /** restoreFrom: the rollback restores the service's database from the snapshot taken by that revision. */
  rollbackOf?: { service: string; toRevision: number; restoreFrom?: number };
  services?: ServiceResult[];
}

export interface ActiveChange {
  revision: number;
  workflowId: string;
  kind: 'apply' | 'rollback';
  author: string;
  message: string;
  startedAt: string;
}

/**
 * What a cloud workflow keeps (and carries across continue-as-new): only what it needs to decide.
 * Every revision lives in the record store; the size of this does not grow with history.
 */
export interface CloudState {
  name: string;
  /** The highest revision number handed out. */
  last: number;
  /** The last revision that applied (what the cloud runs), with its record (per-service results: the store). */
  current: Revision | null;
  active: ActiveChange | null;
  /** Carried only when a run continued as new with a change running: that change's revision. */
  running?: Revision | null;
}

/** The state versions before the record store kept: every revision inside the workflow. */
export interface LegacyCloudState {
  name: string;
  revisions: Revision[];
  current: number | null;
  active: ActiveChange | null;
}

/** What the `patchbay.cloudState` query answers: small, whatever the history. */
export interface CloudSummary {
  name: string;
  last: number;
  /** The revision the cloud runs now. */
  current: number | null;
  active: ActiveChange | null;
}

/** Sent by a change workflow to its cloud just before it returns, so the cloud is free again the moment the outcome is visible. */
export interface ChangeFinished {
  revision: number;
  outcome: Exclude<RevisionOutcome, 'in-progress'>;
  reason?: string;
}

export type InstancePhase =
  | 'pending'
  | 'retiring'
  | 'starting'
  | 'health-gate'
  | 'baking'
  | 'done'
  | 'failed'
  | 'rolling-back'
  | 'rolled-back'
  | 'removing'
  | 'removed'
  | 'draining'
  | 'enabling';

export interface InstanceProgress {
  instance: string;
  phase: InstancePhase;
  detail?: string;
}

export type ServiceAction = 'create' | 'patch' | 'update' | 'repair' | 'remove' | 'unchanged';

export type ServiceStatus = 'succeeded' | 'unchanged' | 'rolled-back' | 'failed' | 'reverted';

export interface ServiceResult {
  service: string;
  action: ServiceAction;
  status: ServiceStatus;
  fromVersion: string | null;
  toVersion: string | null;
  instances: InstanceProgress[];
  reason?: string;
  /** Compensation data of a successful rollout: used to commit it, or to revert it if a later service fails. */
  steps: CompensationStep[];
  /** The one-off jobs that ran (db_sync…): they are not compensated, so the revision says which ran. */
  jobs?: JobResult[];
  /** Set when the service's migrations ran in this revision (a new image with `migrations`). */
  migrations?: MigrationReport;
  /** Set when this revision (a rollback with --restore-database) restored the service's database. */
  restore?: RestoreReport;
}

/** A migration phase as the revision records it; check runs twice, before expand and after contract. */
export type MigrationStage =
  'check-before' | 'snapshot' | 'expand' | 'migrate' | 'contract' | 'check-after' | 'restore';

/** The dump a revision took before its expand (the store's `snapshots` row has the same). */
export interface SnapshotReport {
  host: string;
  path: string;
  sha256: string;
  bytes: number;
  durationMs: number;
  takenAt: string;
  /** Rows per table at the snapshot, when the record says how to count them. */
  rows?: Record<string, number>;
  /** Revisions whose older snapshots retention deleted to make room. */
  pruned?: number[];
}

/**
 * A restore of a service's database from a snapshot (rollback --restore-database). The loss window:
 * whatever was written between the snapshot and the restore is gone; `rows` says how much, per table,
 * where the record says how to count (null: the table did not exist then).
 */
export interface RestoreReport {
  database: { service: string; name: string };
  snapshot: { revision: number; takenAt: string; host: string; path: string; sha256: string; bytes: number };
  startedAt: string;
  durationMs: number;
  lossWindow: { from: string; to: string };
  rows?: Array<{ table: string; atSnapshot: number | null; beforeRestore: number | null }>;
  output: string;
}

export interface MigrationPhaseRecord {
  stage: MigrationStage;
  startedAt: string;
  durationMs: number;
  exitCode: number;
  /** The job's last output lines, its secrets masked; for check, the schema's state. */
  output: string;
}

/**
 * Where a service's schema stands after a revision. `contract`: pending (declared, the revision has
 * not reached it yet), done, skipped (an operator chose to keep the expanded schema), failed (an
 * operator abandoned a failed contract: the schema may be half contracted), not-run (the revision
 * did not succeed), none (not declared).
 */
export interface MigrationReport {
  database: { service: string; name: string };
  phases: MigrationPhaseRecord[];
  snapshot?: SnapshotReport;
  contract: 'pending' | 'done' | 'skipped' | 'failed' | 'not-run' | 'none';
  /** When contract finished: from then on older revisions need the database restored to run again. */
  contractedAt?: string;
}

/** One service's rollout: what it was and becomes, and where it runs (the runtime's part of the record). */
export interface ServiceRolloutInput extends RuntimeTarget {
  cloud: string;
  revision: number;
  previousRevision: number | null;
  service: string;
  target: ServiceSpec | null;
  previous: ServiceSpec | null;
  /** RECORD_SCHEMA_REVISION the specs were normalised with; absent or older: the workflow parses them. */
  recordSchema?: number;
  /** Where the service's database runs (its service's image and first host): snapshots run there. */
  database?: DatabaseHome;
  /** An on-demand rollback: no migrations run. */
  rollback?: boolean;
  /** Restore the database from the snapshot this revision took, between stopping and starting. */
  restoreFrom?: number;
}

/** The image and host of the service that hosts a database (no host where the runtime places it). */
export interface DatabaseHome {
  image: string;
  host?: string;
}

export interface ServiceRevertInput {
  cloud: string;
  revision: number;
  service: string;
  steps: CompensationStep[];
}

export interface ChangeInput {
  cloud: string;
  revision: number;
  previousRevision: number | null;
  from: CloudRecord | null;
  to: CloudRecord;
  /** RECORD_SCHEMA_REVISION the records were normalised with; absent or older: the workflow parses them. */
  recordSchema?: number;
  /**
   * An on-demand rollback of this service: it runs no migrations (the older code's expand has nothing
   * to do on a newer schema); restoreFrom: its database is restored from the snapshot that revision took.
   */
  rollback?: { service: string; restoreFrom?: number };
}

export interface ChangeResult {
  revision: number;
  outcome: Exclude<RevisionOutcome, 'in-progress'>;
  reason?: string;
  services: ServiceResult[];
  /**
   * Set only when preflight refused the revision (outcome `failed`, nothing touched) because these
   * hosts did not answer, and for no other reason: it may pass once they are back (campaigns retry).
   */
  unreachableHosts?: string[];
}

export interface ChangeProgress {
  revision: number;
  phase: 'running' | 'contracting' | 'reverting' | 'committing' | 'done';
  services: Array<{ service: string; workflowId: string; status: 'pending' | 'running' | ServiceStatus }>;
}

export interface ServiceProgress {
  service: string;
  action: ServiceAction | 'planning';
  instances: InstanceProgress[];
  /** Set while the workflow waits for an operator's decision. */
  blocked: OperatorBlock | null;
}

export interface OperatorBlock {
  kind: 'rollout-failed' | 'compensation-failed' | 'contract-approval' | 'contract-failed' | 'restore-failed';
  reason: string;
  allowed: OperatorAction[];
  since: string;
}

export type OperatorAction = 'rollback' | 'retry' | 'abandon' | 'approve';

/** A revision's contract of one service's database, run once every service of it succeeded. */
export interface ServiceContractInput extends RuntimeTarget {
  cloud: string;
  revision: number;
  service: string;
  /** The service's spec in the revision (its migrations and image). */
  target: ServiceSpec;
  /** What the revision did to the service: only a patch has a previous release to hold a contract for. */
  action: ServiceAction;
  /** RECORD_SCHEMA_REVISION the spec was normalised with. */
  recordSchema?: number;
}

export interface ServiceContractResult {
  /** done; skipped or declined (approval refused: keep the schema expanded, or roll the revision back); failed (abandoned). */
  outcome: 'done' | 'skipped' | 'declined' | 'failed';
  phases: MigrationPhaseRecord[];
  reason?: string;
  contractedAt?: string;
}

export type JobResultList = JobResult[];
