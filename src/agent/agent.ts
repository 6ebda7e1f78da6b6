// `patchbay agent`: one per host. It polls its host's own task queue (outbound only, with the same
// Temporal settings as the CLI and worker: TLS or an API key) and runs that host's steps locally:
// containers on the host's engine, jobs, health probes from the host, secrets resolved on the host
// (so they never leave it). Few pollers: thousands of agents share a namespace's poller budget.
import os from 'node:os';
import { Worker } from '@temporalio/worker';
import { connectNative } from '../worker/nativeConnection';
import { createDockerActivities } from '../activities/dockerActivities';
import { createJobActivities } from '../activities/jobActivities';
import { createLbActivities } from '../activities/lbActivities';
import type { Activities } from '../activities';
import type { TemporalConfig } from '../lib/config';
import { agentTaskQueue, LABEL } from '../record/identity';
import { dockerForHost } from '../runtime/dockerClient';
import { guardedHostActivities } from './hostActivities';
import { AGENT_PROTOCOL, AGENT_VERSION } from './version';

export interface AgentSetup {
  config: TemporalConfig;
  cloud: string;
  host: string;
  /** Marks every container the agent creates (tests: so leftovers can be found). */
  testRun?: string;
}

/** The identity an agent polls with: `patchbay hosts` reads version and host from it. */
export function agentIdentity(cloud: string, host: string): string {
  return `patchbay-agent/${AGENT_VERSION}/p${AGENT_PROTOCOL} ${cloud}/${host} pid ${process.pid}@${os.hostname()}`;
}

export async function createAgent(
  setup: AgentSetup,
): Promise<{ worker: Worker; taskQueue: string; identity: string; close(): Promise<void> }> {
  const connection = await connectNative(setup.config);
  const identity = agentIdentity(setup.cloud, setup.host);
  const deps = {
    docker: dockerForHost,
    extraLabels: setup.testRun ? { [LABEL.test]: setup.testRun } : undefined,
  };
  const all = {
    ...createDockerActivities(deps),
    ...createJobActivities(deps),
    ...createLbActivities(),
  } as unknown as Activities;
  const taskQueue = agentTaskQueue(setup.cloud, setup.host);
  const worker = await Worker.create({
    connection,
    namespace: setup.config.namespace,
    taskQueue,
    identity,
    activities: guardedHostActivities(all, { cloud: setup.cloud, host: setup.host, identity }),
    // A host runs a handful of steps at once; two pollers keep it responsive without spending the
    // namespace's poller budget (fleet-sized: thousands of agents).
    maxConcurrentActivityTaskPolls: 2,
    maxConcurrentActivityTaskExecutions: 20,
    shutdownGraceTime: '5s',
  });
  return { worker, taskQueue, identity, close: () => connection.close() };
}
