// The Temporal runtime of a worker or agent process (installed once per process): its logger and,
// with PATCHBAY_METRICS_ADDRESS (or --metrics-address), a Prometheus endpoint at /metrics that
// serves the SDK's own metrics (temporal_*) and Patchbay's (patchbay_*, src/workflows/metrics.ts).
import { isIPv4, isIPv6 } from 'node:net';
import { DefaultLogger, Runtime, type LogLevel, type Logger } from '@temporalio/worker';
import { PATCHBAY_METRICS } from '../workflows/metrics';
import { PatchbayError } from './errors';

export const METRICS_ADDRESS_ENV = 'PATCHBAY_METRICS_ADDRESS';

/**
 * "127.0.0.1:9464", "0.0.0.0:9464", "[::1]:9464": an IP address (the exporter binds it as given,
 * no name lookup) and a port from 1 to 65535. `source` names the setting in the error.
 */
export function parseMetricsAddress(value: string, source: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  const ok = host !== undefined && (m?.[1] ? isIPv6(host) : isIPv4(host)) && port >= 1 && port <= 65535;
  if (!ok)
    throw new PatchbayError(
      source.startsWith('--') ? 'INVALID_INPUT' : 'ENVIRONMENT',
      `${source}=${value} is not host:port (an IP address and a port, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464)`,
    );
  return value;
}

/** Where to serve metrics: the flag, else PATCHBAY_METRICS_ADDRESS; undefined (off) when neither is set. */
export function metricsAddress(flag?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag !== undefined) return parseMetricsAddress(flag, '--metrics-address');
  const value = env[METRICS_ADDRESS_ENV];
  return value ? parseMetricsAddress(value, METRICS_ADDRESS_ENV) : undefined;
}

/** Patchbay's histograms get their own buckets (seconds); the SDK's keep the SDK's. */
export function histogramBuckets(): Record<string, number[]> {
  return Object.fromEntries(
    PATCHBAY_METRICS.flatMap((m) => (m.kind === 'histogram' ? [[m.name, [...m.buckets]]] : [])),
  );
}

/**
 * Installs the process's Temporal runtime: the logger (PATCHBAY_LOG_LEVEL, default WARN) and, when
 * an address is given, the Prometheus exporter. Call once, before any connection or worker.
 */
export function installRuntime(options: { metricsAddress?: string; logger?: Logger } = {}): void {
  const logger = options.logger ?? new DefaultLogger((process.env.PATCHBAY_LOG_LEVEL as LogLevel) || 'WARN');
  const bindAddress = options.metricsAddress;
  try {
    Runtime.install({
      logger,
      ...(bindAddress && {
        telemetryOptions: {
          metrics: { prometheus: { bindAddress, histogramBucketOverrides: histogramBuckets() } },
        },
      }),
    });
  } catch (error) {
    if (!bindAddress) throw error;
    throw new PatchbayError(
      'ENVIRONMENT',
      `cannot serve metrics on ${bindAddress}: ${(error as Error).message}`,
    );
  }
}
