// The Patchbay worker of the engine-only campaign bench, alone in a child process so that its memory
// is measured apart from the bench's client (bench/stack.ts forks it). It runs the product's worker
// (src/worker/worker.ts, its WorkerOptions as shipped) with the in-process fake runtime, connects
// with the TEMPORAL_* environment the parent gives it (dev server or cluster, mTLS), samples its own
// process.memoryUsage() every 200 ms and exposes the SDK's Prometheus metrics on loopback.
// IPC: the parent sends 'peaks' (answered with the peaks since the last 'peaks'), 'stop'.
import { writeHeapSnapshot } from 'node:v8';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { temporalConfig } from '../src/lib/config';
import { createWorker } from '../src/worker/worker';
import { createFakeRuntimeActivities } from '../test/support/fakeRuntime';

export interface MemoryPeaks {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** rss - heapTotal - external at the sample of the peak rss: native memory (SDK core, Node). */
  nativeAtPeak: number;
  samples: number;
}

export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | { type: 'peaks'; peaks: MemoryPeaks; current: NodeJS.MemoryUsage }
  | { type: 'stopped'; peaks: MemoryPeaks }
  | { type: 'error'; message: string };

const send = (m: WorkerMessage) => process.send?.(m);
const empty = (): MemoryPeaks => ({
  rss: 0,
  heapUsed: 0,
  heapTotal: 0,
  external: 0,
  nativeAtPeak: 0,
  samples: 0,
});

async function main(): Promise<void> {
  const metricsPort = process.env.BENCH_WORKER_METRICS_PORT;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    ...(metricsPort
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } } }
      : {}),
  });
  let peaks = empty();
  const overall = empty();
  const sample = () => {
    const m = process.memoryUsage();
    for (const p of [peaks, overall]) {
      p.samples++;
      if (m.rss > p.rss) [p.rss, p.nativeAtPeak] = [m.rss, m.rss - m.heapTotal - m.external];
      p.heapUsed = Math.max(p.heapUsed, m.heapUsed);
      p.heapTotal = Math.max(p.heapTotal, m.heapTotal);
      p.external = Math.max(p.external, m.external);
    }
  };
  const sampler = setInterval(sample, 200);
  const fake = createFakeRuntimeActivities();
  const config = temporalConfig(process.env);
  const { worker, connection } = await createWorker({ config, activities: fake.activities });
  const running = worker.run();
  let snapshots = 0;
  process.on('message', (message: string) => {
    if (message === 'peaks') {
      sample();
      send({ type: 'peaks', peaks, current: process.memoryUsage() });
      peaks = empty();
    } else if (message === 'heapsnapshot' && process.env.BENCH_HEAP_SNAPSHOT_DIR) {
      // Investigation only (BENCH_HEAP_SNAPSHOT_DIR): blocks the worker while it writes.
      writeHeapSnapshot(
        `${process.env.BENCH_HEAP_SNAPSHOT_DIR}/worker-${process.pid}-${++snapshots}.heapsnapshot`,
      );
    } else if (message === 'stop') {
      worker.shutdown();
      void running
        .then(() => connection.close())
        .finally(() => {
          clearInterval(sampler);
          sample();
          send({ type: 'stopped', peaks: overall });
          setTimeout(() => process.exit(0), 200);
        });
    }
  });
  // The bench gone (it failed and exited): no orphan worker left polling.
  process.on('disconnect', () => process.exit(1));
  send({ type: 'ready', pid: process.pid });
  await running.catch((error: Error) => {
    send({ type: 'error', message: error.stack ?? error.message });
    process.exit(1);
  });
}

main().catch((error: Error) => {
  send({ type: 'error', message: error.stack ?? error.message });
  process.exit(1);
});
