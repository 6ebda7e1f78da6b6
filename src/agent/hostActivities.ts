// The activities that act on one host — its containers, jobs, health probes, the Runtime API of a
// balancer that runs there: what an agent runs for its host (and the central worker for hosts it
// reaches directly). Each is guarded: an agent serves only its own cloud and host
// and refuses, with a clear error, a step addressed to another.
import type { Activities } from '../activities';
import { failure } from '../lib/failures';
import type { DockerHostSpec } from '../record/schema';
import { AGENT_PROTOCOL, AGENT_VERSION, type AgentHello } from './version';

/** The host-bound activities, by name (the runtime boundary's Docker steps, jobs, the hello). */
export const HOST_ACTIVITY_NAMES = [
  'preflightService',
  'observeService',
  'observeHost',
  'retireInstance',
  'startInstance',
  'waitHealthy',
  'bakeInstance',
  'restoreInstance',
  'commitInstance',
  'runJob',
  'lbDrain',
  'lbEnable',
  'lbCheck',
] as const;

export type HostActivityName = (typeof HOST_ACTIVITY_NAMES)[number];

/** Which cloud and hosts an activity input addresses (every host-bound input names them). */
export function addressedTo(input: unknown): { cloud?: string; hosts: string[] } {
  // lbCheck takes a list of servers: each names the balancer's host.
  if (Array.isArray(input)) return { hosts: [...new Set(input.flatMap((one) => addressedTo(one).hosts))] };
  const i = (input ?? {}) as {
    cloud?: string;
    ref?: { cloud?: string; host?: DockerHostSpec };
    host?: DockerHostSpec;
    hosts?: DockerHostSpec[];
  };
  const hosts = [
    ...(i.ref?.host ? [i.ref.host.name] : []),
    ...(i.host ? [i.host.name] : []),
    ...(i.hosts ?? []).map((h) => h.name),
  ];
  return { cloud: i.cloud ?? i.ref?.cloud, hosts };
}

export interface AgentIdentity {
  cloud: string;
  host: string;
  identity: string;
}

/**
 * The activities an agent registers: the host-bound ones, each refusing an input addressed to
 * another cloud or host, and `agentHello` (what the workflows ask before they use the host).
 */
export function guardedHostActivities(all: Activities, me: AgentIdentity) {
  const guarded: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const name of HOST_ACTIVITY_NAMES) {
    const activity = all[name] as (input: unknown) => Promise<unknown>;
    guarded[name] = async (input: unknown) => {
      const to = addressedTo(input);
      const others = to.hosts.filter((h) => h !== me.host);
      if ((to.cloud !== undefined && to.cloud !== me.cloud) || others.length > 0 || to.hosts.length === 0)
        throw failure(
          'WRONG_HOST',
          `the agent of ${me.cloud}/${me.host} refuses ${name} for ${to.cloud ?? '?'}/${to.hosts.join(', ') || '(no host)'}: an agent acts only for its own host`,
        );
      return activity(input);
    };
  }
  const hello = async (): Promise<AgentHello> => ({
    cloud: me.cloud,
    host: me.host,
    version: AGENT_VERSION,
    protocol: AGENT_PROTOCOL,
    identity: me.identity,
  });
  return { ...(guarded as Pick<Activities, HostActivityName>), agentHello: hello };
}
