// `patchbay agent --cloud C --host H`: runs until SIGINT/SIGTERM (a systemd unit in production).
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { temporalConfig } from '../lib/config';
import { createAgent } from './agent';

export interface AgentProcessOptions {
  cloud: string;
  host: string;
  /** Called once the agent polls (the CLI prints it). */
  onReady?: (line: string) => void;
}

export async function runAgentProcess(options: AgentProcessOptions): Promise<void> {
  Runtime.install({ logger: new DefaultLogger((process.env.PATCHBAY_LOG_LEVEL as 'INFO') || 'WARN') });
  const config = temporalConfig();
  const agent = await createAgent({
    config,
    cloud: options.cloud,
    host: options.host,
    testRun: process.env.PATCHBAY_TEST_RUN || undefined,
  });
  options.onReady?.(
    `patchbay agent ${agent.identity}: task queue ${agent.taskQueue} on ${config.address} (${config.namespace})`,
  );
  try {
    await agent.worker.run();
  } finally {
    await agent.close();
  }
}
