// The Temporal SDK metrics the Grafana dashboard queries (deploy/grafana/patchbay-dashboard.json).
// The dashboard test allows only these (and Patchbay's own, src/workflows/metrics.ts); the metrics
// integration test checks that a real worker's scrape has every one of them, under these names.
export const SDK_METRICS = {
  /** Histograms (milliseconds: the SDK's default unit): queried as _bucket, _sum, _count. */
  histograms: [
    'temporal_workflow_task_schedule_to_start_latency',
    'temporal_activity_schedule_to_start_latency',
    'temporal_activity_execution_latency',
  ],
  counters: ['temporal_activity_execution_failed', 'temporal_workflow_completed', 'temporal_request'],
  gauges: ['temporal_worker_task_slots_available', 'temporal_sticky_cache_size'],
} as const;

/** Every series name the dashboard may use for them. */
export function sdkSeriesNames(): string[] {
  return [
    ...SDK_METRICS.histograms.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
    ...SDK_METRICS.counters,
    ...SDK_METRICS.gauges,
  ];
}
