// The runtime boundary of the rollout workflows (cf. Argo Rollouts' traffic routers): what a rollout
// needs from a runtime, one implementation per runtime (docker.ts, kubernetes.ts), picked in one
// place (index.ts). The rollout (../serviceRollout.ts), the revert (../saga.ts) and the change
// (../change.ts) drive any runtime through these interfaces and never name one.
import type { JobCapture, JobPhase, JobResult, LbTarget } from '../../activities/types';
import type { InstanceSpec, JobSpec, ServiceSpec } from '../../record/schema';
import type { InstancePhase, ServiceAction } from '../types';
import type { CompensationStep } from './steps';

/** Progress of one unit, as the service's query shows it. */
export type Report = (unit: string, phase: InstancePhase, detail?: string) => void;

/** What a rollout replaces or removes as a whole: one container (Docker) or one Deployment (Kubernetes). */
export interface RolloutUnit {
  /** What progress and compensation call it: "<host>-<port>" or "deployment/<service>". */
  id: string;
  /** Something serves for it that must be drained and stopped before its replacement starts. */
  retireFirst: boolean;
  /** Its spec in the record (target for a replacement, previous for a removal), if it has one of its own. */
  instance: InstanceSpec | null;
}

/** What a change does to a service, decided from what runs. */
export interface RolloutPlan {
  action: ServiceAction;
  /** Units to (re)create from the target spec, in order. */
  replace: RolloutUnit[];
  /** Units that are no longer in the record. */
  remove: RolloutUnit[];
}

/** What a started unit tells the next steps (health gate, bake). */
export interface StartedUnit {
  /** Shown beside the health gate. */
  detail?: string;
  /** What the runtime started: a container id, a Deployment generation. */
  handle?: string | number;
}

/** One service on one runtime, for one revision. */
export interface ServiceRuntime {
  /** Said of a failure before the first unit was touched. */
  readonly untouched: string;
  /** Looks up what runs for the service (read-only) and decides what the change does. */
  observe(): Promise<RolloutPlan>;
  /** How many units may be replaced at once. */
  batchSize(target: ServiceSpec): number;
  /** How to put a unit back: recorded on the compensation stack BEFORE anything is done to it. */
  compensation(unit: RolloutUnit, lb: LbTarget | null): CompensationStep;
  /** Stops what serves for a unit, keeping it for a rollback (only for units with retireFirst). */
  retire(unit: RolloutUnit, target: ServiceSpec): Promise<void>;
  /** Shown when a unit starts. */
  describeStart(target: ServiceSpec): string | undefined;
  /** Starts the unit from the target spec; may complete its compensation step (what it replaced). */
  start(unit: RolloutUnit, target: ServiceSpec, step: CompensationStep): Promise<StartedUnit>;
  /** Waits until the unit is healthy within the record's deadline; says how it went. */
  waitHealthy(unit: RolloutUnit, target: ServiceSpec, started: StartedUnit): Promise<string>;
  /** Watches a healthy unit for the record's bake time; absent where the runtime bakes by itself. */
  bake?(unit: RolloutUnit, target: ServiceSpec, started: StartedUnit): Promise<void>;
  /** Removes a unit that is no longer in the record (kept until commit where the runtime can). */
  remove(unit: RolloutUnit): Promise<void>;
  /** Runs one of the service's one-off jobs (before/after, or a migration phase) to completion. */
  runJob(phase: JobPhase, job: JobSpec, spec: ServiceSpec, capture?: JobCapture): Promise<JobResult>;
}

/** Puts back and commits what a rollout recorded on its compensation stack. */
export interface CompensationRuntime {
  /** The unit a step puts back, as progress names it. */
  unitOf(step: CompensationStep): string;
  /** "keystone/ctl1-5000", "keystone (Deployment)": the subject of a failed compensation. */
  describe(step: CompensationStep): string;
  /** The load-balancer server to enable once the unit is back, if one was drained. */
  traffic(step: CompensationStep): { cloud: string; lb: LbTarget; health: ServiceSpec['health'] } | null;
  /** Puts the unit back and waits for it; says what was done, and whether it serves again. */
  restore(step: CompensationStep, revision: number): Promise<{ detail: string; serving: boolean }>;
  /** Removes what was kept for a rollback once the whole change succeeded; null: nothing kept. */
  commit(step: CompensationStep): Promise<void> | null;
}

/** The revision as a whole on one runtime. */
export interface RevisionRuntime {
  /** Checks every service of a revision before any is touched (one promise per check). */
  preflight(services: ServiceSpec[]): Array<Promise<unknown>>;
}
