// Inputs and results of activities. Workflows import these with `import type` only.
import type {
  DockerHostSpec,
  HealthCheckSpec,
  InstanceSpec,
  JobSpec,
  KubernetesRuntimeSpec,
  ServiceSpec,
} from '../record/schema';
import type { MigrationPhase } from '../record/oneOffJobs';

/** One instance of one service of one cloud, on the host that runs it. */
export interface InstanceRef {
  cloud: string;
  service: string;
  /** instanceId(): "<host>-<port>" */
  instance: string;
  host: DockerHostSpec;
}

export interface ObservedInstance {
  instance: string;
  containerId: string;
  name: string;
  running: boolean;
  specHash: string;
  revision: number;
  version: string;
}

export interface ServiceObservation {
  /** The container serving each instance, by instance id. */
  active: Record<string, ObservedInstance>;
  /** Old containers kept stopped for rollback. */
  retired: ObservedInstance[];
}

export interface PreflightInput {
  cloud: string;
  service: ServiceSpec;
  hosts: DockerHostSpec[];
}

export interface RetireInput {
  ref: InstanceRef;
  /** The revision whose change retires the container; it names the kept container. */
  revision: number;
  stopTimeoutMs: number;
}

export interface RetireResult {
  retiredName: string | null;
  containerId: string | null;
}

export interface StartInput {
  ref: InstanceRef;
  service: ServiceSpec;
  instance: InstanceSpec;
  revision: number;
}

export interface StartResult {
  containerId: string;
  name: string;
}

export interface HealthGateInput {
  ref: InstanceRef;
  port: number;
  health: HealthCheckSpec;
}

export interface HealthGateResult {
  elapsedMs: number;
  attempts: number;
  lastResponse: string;
}

export interface BakeInput extends HealthGateInput {
  containerId: string;
  bakeMs: number;
}

export interface RestoreInput {
  ref: InstanceRef;
  /** The failed change's revision: containers labelled with it are removed. */
  revision: number;
  retiredName: string | null;
  /** How to recreate the old instance when its kept container is gone; null for a brand-new instance. */
  previous: { service: ServiceSpec; instance: InstanceSpec; revision: number } | null;
}

export interface RestoreResult {
  outcome: 'kept-container-restarted' | 'recreated' | 'removed' | 'already-restored';
  containerId: string | null;
}

export interface CommitInput {
  ref: InstanceRef;
  retiredName: string;
}

/** Why a health gate or bake failed: the operator reads this in `history` and the Web UI. */
export interface GateFailureDetails {
  instance: string;
  check: string;
  lastResponse: string;
}

/** The Runtime API of the HAProxy that fronts an instance, and the server that stands for it. */
export interface LbTarget {
  runtimeApi: string;
  backend: string;
  server: string;
  drainTimeoutMs: number;
  /** The host HAProxy runs on, when the record names one: its Runtime API is driven from there. */
  host?: DockerHostSpec;
}

export interface LbDrainResult {
  waitedMs: number;
  /** Sessions still open when the drain timeout ran out (0 when it drained cleanly). */
  sessionsCut: number;
}

/** When a one-off job runs: around the rolling replace (jobs), or as a migration phase. */
export type JobPhase = 'before' | 'after' | MigrationPhase;

/** What a migration phase asks of its job beyond a plain run. */
export interface JobCapture {
  /** Return the last lines of its output (secret values masked), not only on failure. */
  outputLines: number;
  /** Any exit code is an answer, not a failure (a `check` reports the schema's state by it). */
  anyExitCode?: boolean;
}

export interface JobInput {
  cloud: string;
  service: string;
  revision: number;
  phase: JobPhase;
  job: JobSpec;
  /** Migration phases: keep the output (and, for check, any exit code). Absent for jobs, as before. */
  capture?: JobCapture;
  /** The image to run when the job names none: the service's target image. */
  image: string;
  host: DockerHostSpec;
  volumes: ServiceSpec['volumes'];
  /** The service's config files: a job (db_sync…) reads the same configuration as its instances. */
  config?: ServiceSpec['config'];
}

export interface JobResult {
  job: string;
  phase: JobPhase;
  exitCode: number;
  durationMs: number;
  /** When the job's container started (migration phases). */
  startedAt?: string;
  /** The last lines of its output, secrets masked (migration phases: JobInput.capture). */
  output?: string;
}

/** Kubernetes: how to put a service's Deployment back (its previous spec, or none: delete it). */
export interface K8sRestoreInput {
  runtime: KubernetesRuntimeSpec;
  cloud: string;
  service: string;
  /** The failed (or reverted) revision. */
  revision: number;
  previous: ServiceSpec | null;
  previousRevision: number | null;
}

/**
 * A one-off job on Kubernetes: as on Docker, without host and volumes. With config files, also the
 * service's port: the job mounts the ConfigMap its pods mount, rendered once for all of them.
 */
export type K8sJobInput = Omit<JobInput, 'host' | 'volumes'> & {
  runtime: KubernetesRuntimeSpec;
  port?: number;
  /** Node directories mounted at the same path (a snapshot's directory). */
  hostPaths?: string[];
};
