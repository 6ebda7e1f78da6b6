// `patchbay agent --cloud C --host H`: runs until SIGINT/SIGTERM (a systemd unit in production).
// PATCHBAY_METRICS_ADDRESS (or --metrics-address) serves Prometheus metrics (src/lib/telemetry.ts).
import { temporalConfig } from '../lib/config';
import { installRuntime, metricsAddress } from '../lib/telemetry';
import { createAgent } from './agent';

export interface AgentProcessOptions {
  cloud: string;
  host: string;
  /** host:port for the Prometheus endpoint (--metrics-address); default PATCHBAY_METRICS_ADDRESS. */
  metricsAddress?: string;
  /** Called once the agent polls (the CLI prints it). */
  onReady?: (line: string) => void;
}

export async function runAgentProcess(options: AgentProcessOptions): Promise<void> {
  const metrics = metricsAddress(options.metricsAddress);
  installRuntime({ metricsAddress: metrics });
  const config = temporalConfig();
  const agent = await createAgent({
    config,
    cloud: options.cloud,
    host: options.host,
    testRun: process.env.PATCHBAY_TEST_RUN || undefined,
  });
  options.onReady?.(
    `patchbay agent ${agent.identity}: task queue ${agent.taskQueue} on ${config.address} (${config.namespace})` +
      `${metrics ? `, metrics on http://${metrics}/metrics` : ''}`,
  );
  try {
    await agent.worker.run();
  } finally {
    await agent.close();
  }
}
