// The one catalogue of failure types. Workflows reject updates with them, activities fail with them,
// the clients turn them into PatchbayErrors and the CLI into exit codes: each type is declared once,
// here, with what it means, the exit code the CLI gives it and whether Temporal should retry an
// activity that fails with it. README.md ("Failures and exit codes") shows this table; a unit test
// keeps the two the same.
//
// Workflow code imports this file: no Node builtins, relative imports only.
import { ApplicationFailure } from '@temporalio/common';

export interface FailureInfo {
  /** What happened, for operators (README's table). */
  meaning: string;
  /** The `patchbay` command's exit code: 2 refused before anything ran, 1 failed (or could not run). */
  exitCode: 1 | 2;
  /** Whether retrying the same call can succeed (an activity failing with it is retried by Temporal). */
  retryable: boolean;
}

export const FAILURES = {
  INVALID_RECORD: {
    meaning: 'the record file is malformed or inconsistent',
    exitCode: 2,
    retryable: false,
  },
  INVALID_INPUT: {
    meaning: 'a command argument or message payload is wrong, or the message does not apply now',
    exitCode: 2,
    retryable: false,
  },
  CLOUD_BUSY: {
    meaning: 'another change runs on this cloud: refused, not queued, nothing changed',
    exitCode: 2,
    retryable: false,
  },
  NOT_FOUND: {
    meaning: 'unknown cloud, revision, service or campaign',
    exitCode: 2,
    retryable: false,
  },
  SCHEMA_CONTRACTED: {
    meaning: 'a rollback across a revision that contracted the database schema the old code needs',
    exitCode: 2,
    retryable: false,
  },
  SNAPSHOT_MISSING: {
    meaning:
      'a rollback that must restore a database whose snapshot was never taken or was deleted by retention',
    exitCode: 2,
    retryable: false,
  },
  CAMPAIGN_REFUSED: {
    meaning: 'a campaign name already used, or a control message that does not apply now (finished)',
    exitCode: 2,
    retryable: false,
  },
  PREFLIGHT_FAILED: {
    meaning: 'image missing, host or API server unreachable, secret unresolved: nothing was touched',
    exitCode: 1,
    retryable: false,
  },
  CONFLICT: {
    meaning: 'a container of the instance exists that this revision did not make and was not retired',
    exitCode: 1,
    retryable: false,
  },
  HEALTH_GATE_FAILED: {
    meaning: 'a new instance did not pass its health gate in time (or kept crashing, or answered 5xx)',
    exitCode: 1,
    retryable: false,
  },
  BAKE_FAILED: {
    meaning: 'a new instance stopped, restarted or failed its health check during the bake',
    exitCode: 1,
    retryable: false,
  },
  ROLLOUT_FAILED: {
    meaning: 'a Kubernetes rollout did not complete by its deadline, or its Deployment changed or went',
    exitCode: 1,
    retryable: false,
  },
  JOB_FAILED: {
    meaning: 'a one-off job (db_sync…) exited non-zero or did not finish in time',
    exitCode: 1,
    retryable: false,
  },
  LB_NOT_UP: {
    meaning: 'the load balancer did not report an enabled server UP in time',
    exitCode: 1,
    retryable: false,
  },
  HOST_UNREACHABLE: {
    meaning: "no worker took a host's activity from the host's task queue in time (is its agent running?)",
    exitCode: 1,
    retryable: false,
  },
  WRONG_HOST: {
    meaning: 'an agent was asked to act for another cloud or host than its own, and refused',
    exitCode: 1,
    retryable: false,
  },
  NOT_IN_STORE: {
    meaning: 'a cloud from before the record store has not moved its history there yet',
    exitCode: 1,
    retryable: true,
  },
  CHANGE_FAILED: {
    meaning: 'the change ran and failed or was rolled back (or a campaign halted or was aborted)',
    exitCode: 1,
    retryable: false,
  },
  ENVIRONMENT: {
    meaning: 'Temporal, the record store, Docker or Kubernetes is not there or not set up',
    exitCode: 1,
    retryable: true,
  },
  INTERNAL: {
    meaning: 'a bug: Patchbay found itself in a state it does not expect',
    exitCode: 1,
    retryable: false,
  },
} as const satisfies Record<string, FailureInfo>;

export type FailureType = keyof typeof FAILURES;

export const FAILURE_TYPES = Object.keys(FAILURES) as FailureType[];

/** The types Temporal must not retry (for a RetryPolicy's nonRetryableErrorTypes). */
export const NON_RETRYABLE_FAILURE_TYPES: FailureType[] = FAILURE_TYPES.filter((t) => !FAILURES[t].retryable);

/**
 * Types written before the catalogue, still found in saved histories and sent by the campaign code
 * kept for replay (campaignLegacy.ts): read as their catalogue type.
 */
export const LEGACY_FAILURE_TYPES: Readonly<Record<string, FailureType>> = {
  HealthGateFailed: 'HEALTH_GATE_FAILED',
  BakeFailed: 'BAKE_FAILED',
  RolloutFailed: 'ROLLOUT_FAILED',
  JobFailed: 'JOB_FAILED',
  LbNotUp: 'LB_NOT_UP',
  CAMPAIGN_FINISHED: 'CAMPAIGN_REFUSED',
};

/** The catalogue type of a failure's type string (old spellings included), or undefined. */
export function failureType(type: string | null | undefined): FailureType | undefined {
  if (!type) return undefined;
  if (Object.hasOwn(FAILURES, type)) return type as FailureType;
  return Object.hasOwn(LEGACY_FAILURE_TYPES, type) ? LEGACY_FAILURE_TYPES[type] : undefined;
}

/** The CLI's exit code for a failure type. */
export function exitCodeOf(type: FailureType): 1 | 2 {
  return FAILURES[type].exitCode;
}

/**
 * The ApplicationFailure for a type of the catalogue: retryable as the catalogue says; `details`
 * (one object) travels with it as its first detail.
 */
export function failure(type: FailureType, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: !FAILURES[type].retryable,
    details: details === undefined ? [] : [details],
  });
}
