// Activity stubs with timeouts matched to what each one does. Short Docker calls retry a few times
// (an engine hiccup); health gates and bakes heartbeat so a dead worker is noticed within seconds.
import { proxyActivities, proxyLocalActivities, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';

const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  maximumAttempts: 5,
};

export const quick = proxyActivities<Activities>({
  startToCloseTimeout: '20s',
  retry,
});

/** Stopping waits for the service's grace period. */
export function stopping(stopGracePeriodMs: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: stopGracePeriodMs + 30_000,
    retry,
  });
}

/** Health gates and bakes: long, heartbeating, resumable from their heartbeat details. */
export function watching(durationMs: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: durationMs + 60_000,
    heartbeatTimeout: '5s',
    retry,
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
