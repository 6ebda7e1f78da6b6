// Activity stubs with timeouts matched to what each one does. Short runtime calls retry a few times
// (an engine hiccup); health gates and bakes heartbeat so a dead worker is noticed within seconds.
import {
  ActivityFailure,
  TimeoutFailure,
  proxyActivities,
  proxyLocalActivities,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities as WorkerActivities } from '../activities';
import type { AgentHello } from '../agent/version';
import { failure } from '../lib/failures';

/** What the central worker runs, and what only an agent answers (on its host's queue). */
type Activities = WorkerActivities & { agentHello(): Promise<AgentHello> };

const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  maximumAttempts: 5,
};

/** Short runtime calls. */
const quickOptions = { startToCloseTimeout: '20s', retry } as const;
/** Stopping waits for the service's grace period. */
const stoppingOptions = (stopGracePeriodMs: number) => ({
  startToCloseTimeout: stopGracePeriodMs + 30_000,
  retry,
});
/** Health gates and bakes: long, heartbeating, resumable from their heartbeat details. */
const watchingOptions = (durationMs: number) => ({
  startToCloseTimeout: durationMs + 60_000,
  heartbeatTimeout: '5s' as const,
  retry,
});

export const quick = proxyActivities<Activities>(quickOptions);

export function stopping(stopGracePeriodMs: number) {
  return proxyActivities<Activities>(stoppingOptions(stopGracePeriodMs));
}

export function watching(durationMs: number) {
  return proxyActivities<Activities>(watchingOptions(durationMs));
}

/**
 * How long a host-bound activity may wait for the worker of its host's task queue (an agent) to
 * pick it up: past this the host counts as unreachable instead of the change hanging.
 */
export const HOST_PICKUP_TIMEOUT = '2m' as const;

export interface HostActivities {
  quick: typeof quick;
  stopping: typeof stopping;
  watching: typeof watching;
}

/**
 * The activity stubs for one host: on the central worker's queue (taskQueue undefined), or on the
 * queue of the worker that serves that host (cf. Temporal's worker-specific task queues sample).
 * When nothing picks a routed activity up in time, the failure says which host and queue.
 */
export function onHostQueue(
  taskQueue: string | undefined,
  host = '?',
  pickupTimeoutMs?: number,
): HostActivities {
  if (taskQueue === undefined) return { quick, stopping, watching };
  const pickup = pickupTimeoutMs ?? HOST_PICKUP_TIMEOUT;
  const routed = { taskQueue, scheduleToStartTimeout: pickup };
  const explain = <T extends object>(stubs: T): T => explainPickup(stubs, taskQueue, host, pickup);
  return {
    quick: explain(proxyActivities<Activities>({ ...quickOptions, ...routed })),
    stopping: (ms) => explain(proxyActivities<Activities>({ ...stoppingOptions(ms), ...routed })),
    watching: (ms) => explain(proxyActivities<Activities>({ ...watchingOptions(ms), ...routed })),
  };
}

/**
 * Stubs whose schedule-to-start timeouts become "host X: nothing serves queue Q" failures
 * (HOST_UNREACHABLE, details `{ host }`).
 */
export function explainPickup<T extends object>(
  stubs: T,
  taskQueue: string,
  host: string,
  pickup: number | typeof HOST_PICKUP_TIMEOUT = HOST_PICKUP_TIMEOUT,
): T {
  return new Proxy(stubs, {
    get(target, name) {
      const stub = Reflect.get(target, name) as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        try {
          return await stub(...args);
        } catch (error) {
          if (
            error instanceof ActivityFailure &&
            error.cause instanceof TimeoutFailure &&
            error.cause.timeoutType === 'SCHEDULE_TO_START'
          )
            throw failure(
              'HOST_UNREACHABLE',
              `host ${host}: no worker took ${String(name)} from task queue ${taskQueue} within ${typeof pickup === 'number' ? `${pickup / 1000}s` : pickup} (is the host's agent running?)`,
              // Structured for what decides on it (a refused preflight names its unreachable hosts).
              { host },
            );
          throw error;
        }
      };
    },
  });
}

/**
 * Record-store reads and writes: retried without limit until the database answers, so a stopped
 * PostgreSQL delays a change and never loses a row. Business answers (no such revision) do not retry.
 */
export const recording = proxyActivities<Activities>({
  startToCloseTimeout: '60s',
  heartbeatTimeout: '30s',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    nonRetryableErrorTypes: ['NOT_FOUND', 'INVALID_INPUT'],
  },
});

/**
 * The record-store writes on every change's path (revision accepted, finished, moved in), as local
 * activities: they run inside the workflow task that asks for them, so a change pays a database
 * round trip, not an extra workflow task each (bench:campaign). Retried without limit, like `recording`.
 */
export const recordingLocal = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  localRetryThreshold: '10s',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    nonRetryableErrorTypes: ['NOT_FOUND', 'INVALID_INPUT'],
  },
});
