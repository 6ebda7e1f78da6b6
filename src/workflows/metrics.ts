// Patchbay's own Prometheus metrics: every name, label and bucket in one place, for the workflows
// that emit them, the worker that serves them (src/lib/telemetry.ts: bucket overrides), the Grafana
// dashboard (deploy/grafana/patchbay-dashboard.json) and their tests.
//
// Emitted through the SDK's workflow metric meter, so they come out of the same endpoint as the
// SDK's own (PATCHBAY_METRICS_ADDRESS). The meter is a sink: it adds no command to the history, and
// the SDK drops its calls while a workflow replays (workflowInfo().unsafe.isReplaying), so a change
// counted once stays counted once when a worker replays it after a restart or a cache eviction, and
// no workflow patch is needed. Durations are workflow time (Date.now() is the workflow task's time,
// deterministic). The SDK adds namespace, task_queue, workflow_type and service_name labels.
// Labels stay bounded: cloud, service, outcomes and kinds; never instance ids or revision numbers.
import { metricMeter } from '@temporalio/workflow';

interface Base {
  /** The exported name: counters end in _total, durations in _seconds (values in seconds). */
  name: string;
  help: string;
  /** Label names besides the SDK's own. */
  labels: readonly string[];
}
export interface CounterDef extends Base {
  kind: 'counter';
}
export interface HistogramDef extends Base {
  kind: 'histogram';
  /** Bucket upper bounds, in seconds (the worker passes them to the exporter). */
  buckets: readonly number[];
}
export interface GaugeDef extends Base {
  kind: 'gauge';
}
export type MetricDef = CounterDef | HistogramDef | GaugeDef;

export const CHANGES = {
  kind: 'counter',
  name: 'patchbay_changes_total',
  help: 'Changes (revisions) finished, by outcome: applied, rolled-back, failed',
  labels: ['cloud', 'outcome'],
} as const satisfies CounterDef;

export const SERVICE_CHANGES = {
  kind: 'counter',
  name: 'patchbay_service_changes_total',
  help: 'Services a finished change touched, by what it did (create, patch, update, repair, remove) and how it ended (succeeded, rolled-back, reverted, failed)',
  labels: ['cloud', 'service', 'action', 'outcome'],
} as const satisfies CounterDef;

export const ROLLBACKS = {
  kind: 'counter',
  name: 'patchbay_rollbacks_total',
  help: 'Rollbacks started: automatic (a gate failed), operator (decided at a paused rollout), revert (a later service of the revision failed), on-demand (patchbay rollback, campaign rollback)',
  labels: ['cloud', 'service', 'kind'],
} as const satisfies CounterDef;

export const ROLLOUT_DURATION = {
  kind: 'histogram',
  name: 'patchbay_rollout_duration_seconds',
  help: "One service's whole rolling replace within a change (with its jobs, and its rollback if it rolled back), by outcome",
  labels: ['cloud', 'service', 'outcome'],
  buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600],
} as const satisfies HistogramDef;

export const HEALTH_GATE_DURATION = {
  kind: 'histogram',
  name: 'patchbay_health_gate_duration_seconds',
  help: "A new instance's health gate, from start to passed or failed",
  labels: ['cloud', 'service', 'result'],
  buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
} as const satisfies HistogramDef;

export const BAKE_DURATION = {
  kind: 'histogram',
  name: 'patchbay_bake_duration_seconds',
  help: "A healthy new instance's bake, to its end or its failure",
  labels: ['cloud', 'service', 'result'],
  buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800],
} as const satisfies HistogramDef;

export const INSTANCES_OUT_OF_SERVICE = {
  kind: 'gauge',
  name: 'patchbay_instances_out_of_service',
  help: 'Instances a rollout or rollback has taken out of service (draining, stopped, starting, in their health gate, being put back) and not yet returned',
  labels: ['cloud', 'service'],
} as const satisfies GaugeDef;

export const CAMPAIGN_CLOUDS = {
  kind: 'counter',
  name: 'patchbay_campaign_clouds_total',
  help: "Campaign clouds by outcome (patched, already-at-target, rolled-back, failed, skipped-*, not-started; a campaign rollback's: reverted, failed)",
  labels: ['campaign', 'kind', 'outcome'],
} as const satisfies CounterDef;

/** Every Patchbay metric (the dashboard test checks its queries against these names). */
export const PATCHBAY_METRICS: readonly MetricDef[] = [
  CHANGES,
  SERVICE_CHANGES,
  ROLLBACKS,
  ROLLOUT_DURATION,
  HEALTH_GATE_DURATION,
  BAKE_DURATION,
  INSTANCES_OUT_OF_SERVICE,
  CAMPAIGN_CLOUDS,
];

type Labels<D extends MetricDef> = Record<D['labels'][number], string>;

// The instruments are made at each call: the meter answers only inside a workflow (not at import).

/** Adds to a counter (workflow code only). */
export function count<D extends CounterDef>(def: D, labels: Labels<D>, n = 1): void {
  if (n > 0) metricMeter.createCounter(def.name, undefined, def.help).add(n, labels);
}

/** Records one observation, in seconds (workflow code only). */
export function observe<D extends HistogramDef>(def: D, labels: Labels<D>, seconds: number): void {
  metricMeter.createHistogram(def.name, 'float', 's', def.help).record(Math.max(0, seconds), labels);
}

/** Sets a gauge (workflow code only). */
export function setGauge<D extends GaugeDef>(def: D, labels: Labels<D>, value: number): void {
  metricMeter.createGauge(def.name, 'int', undefined, def.help).set(value, labels);
}

/** Seconds of workflow time since this call (deterministic: the workflow task's clock). */
export function stopwatch(): () => number {
  const started = Date.now();
  return () => (Date.now() - started) / 1000;
}

/** Times `work` into a histogram, result "passed"/"failed" (the error is rethrown). */
export async function timed<T>(
  def: typeof HEALTH_GATE_DURATION | typeof BAKE_DURATION,
  labels: { cloud: string; service: string },
  work: () => Promise<T>,
): Promise<T> {
  const elapsed = stopwatch();
  try {
    const value = await work();
    observe(def, { ...labels, result: 'passed' }, elapsed());
    return value;
  } catch (error) {
    observe(def, { ...labels, result: 'failed' }, elapsed());
    throw error;
  }
}

/**
 * The instances of one service that are out of service right now, as a gauge: set to the absolute
 * count at each change (a worker that takes the workflow over after a replay sets the true value at
 * the next step), back to 0 when the workflow ends.
 */
export function outOfServiceGauge(cloud: string, service: string) {
  const out = new Set<string>();
  const publish = () => setGauge(INSTANCES_OUT_OF_SERVICE, { cloud, service }, out.size);
  return {
    take(unit: string): void {
      if (out.has(unit)) return;
      out.add(unit);
      publish();
    },
    back(unit: string): void {
      if (out.delete(unit)) publish();
    },
    clear(): void {
      if (out.size === 0) return;
      out.clear();
      publish();
    },
  };
}
export type OutOfServiceGauge = ReturnType<typeof outOfServiceGauge>;
