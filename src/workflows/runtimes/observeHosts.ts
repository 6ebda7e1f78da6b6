// Reads what runs on a cloud's agent hosts for `status` and `plan`: each host's agent reads its own
// host (observeHost) — the CLI never needs to reach a host. Short-lived; one per command. An agent
// that does not take the read within seconds is reported as unreachable, not waited for.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { agentTaskQueue } from '../../record/identity';
import type { DockerHostSpec } from '../../record/schema';
import type { HostProbe, HostReading } from '../../runtime/readHost';
import { failureMessage } from '../failures';

export interface ObserveHostsInput {
  cloud: string;
  hosts: DockerHostSpec[];
  /** Health checks to run from each host, by host name. */
  probes: Record<string, HostProbe[]>;
}

export type HostObservation =
  | { host: string; reachable: true; reading: HostReading }
  | { host: string; reachable: false; reason: string };

/** How long a read may wait for a host's agent: a status must answer quickly. */
const READ_PICKUP_MS = 10_000;

export async function observeHostsWorkflow(input: ObserveHostsInput): Promise<HostObservation[]> {
  const settled = await Promise.allSettled(
    input.hosts.map((host) =>
      proxyActivities<Activities>({
        taskQueue: agentTaskQueue(input.cloud, host.name),
        scheduleToStartTimeout: READ_PICKUP_MS,
        startToCloseTimeout: '30s',
        retry: { maximumAttempts: 2, initialInterval: '1s' },
      }).observeHost({ cloud: input.cloud, host, probes: input.probes[host.name] ?? [] }),
    ),
  );
  return settled.map((outcome, i) => {
    const host = (input.hosts[i] as DockerHostSpec).name;
    if (outcome.status === 'fulfilled') return { host, reachable: true, reading: outcome.value };
    const reason = failureMessage(outcome.reason);
    return {
      host,
      reachable: false,
      reason: /timeout|timed out/i.test(reason)
        ? `its agent did not answer within ${READ_PICKUP_MS / 1000} s (task queue ${agentTaskQueue(input.cloud, host)})`
        : reason,
    };
  });
}
