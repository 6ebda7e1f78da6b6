// Docker: the cloud's containers on each host of the record (read-only), grouped per service, and
// health from each host. A host reached directly is read from here; an agent host is read by its
// agent (observeHostsWorkflow), so the CLI never needs to reach it. A host that cannot be read
// is shown as unreachable by `status` and refuses `plan` (it cannot plan what it cannot see).
import type { ServiceObservation } from '../../activities/types';
import { PatchbayError } from '../../lib/errors';
import { instanceId } from '../../record/identity';
import type { CloudRecord, DockerHostSpec } from '../../record/schema';
import { dockerForHost, unreachableReason } from '../../runtime/dockerClient';
import { readHost, type HostProbe } from '../../runtime/readHost';
import type { HostObservation, ObserveHostsInput } from '../../workflows/runtimes/observeHosts';
import type { CloudObservation } from '../observeCloud';
import { computePlan } from '../plan';
import { dockerServices } from '../status';
import type { RuntimeView } from './runtimeView';

/** Reads agent hosts through their agents (PatchbayClient.observeAgentHosts). */
export type AgentReader = (input: ObserveHostsInput) => Promise<HostObservation[]>;

async function readDirect(
  cloud: string,
  host: DockerHostSpec,
  probes: HostProbe[],
): Promise<HostObservation> {
  const unreachable = await unreachableReason(host);
  if (unreachable) return { host: host.name, reachable: false, reason: `${host.endpoint}: ${unreachable}` };
  return {
    host: host.name,
    reachable: true,
    reading: await readHost(dockerForHost(host), cloud, host.address, probes),
  };
}

/** Every host read once, in record order: directly, or through the agents. */
async function readHosts(
  cloud: string,
  hosts: DockerHostSpec[],
  probes: Record<string, HostProbe[]>,
  readAgents: AgentReader | undefined,
): Promise<HostObservation[]> {
  const agentHosts = hosts.filter((h) => h.reach === 'agent');
  const [direct, viaAgents] = await Promise.all([
    Promise.all(
      hosts.filter((h) => h.reach !== 'agent').map((h) => readDirect(cloud, h, probes[h.name] ?? [])),
    ),
    agentHosts.length === 0
      ? Promise.resolve([])
      : readAgents
        ? readAgents({ cloud, hosts: agentHosts, probes })
        : Promise.resolve(
            agentHosts.map((h) => ({
              host: h.name,
              reachable: false as const,
              reason: 'no Temporal client to ask its agent',
            })),
          ),
  ]);
  const byName = new Map([...direct, ...viaAgents].map((o) => [o.host, o]));
  return hosts.map((h) => byName.get(h.name) as HostObservation);
}

/** The services' observations merged across the hosts that could be read. */
function merge(observations: HostObservation[]): CloudObservation {
  const out: CloudObservation = new Map();
  for (const o of observations) {
    if (!o.reachable) continue;
    for (const [service, seen] of Object.entries(o.reading.services)) {
      const into: ServiceObservation = out.get(service) ?? { active: {}, retired: [] };
      Object.assign(into.active, seen.active);
      into.retired.push(...seen.retired);
      out.set(service, into);
    }
  }
  return out;
}

/** The record's health checks, per host (status runs them from each instance's host). */
function probesOf(record: CloudRecord): Record<string, HostProbe[]> {
  const out: Record<string, HostProbe[]> = {};
  for (const service of record.spec.services)
    for (const i of service.instances)
      (out[i.host] ??= []).push({
        instance: instanceId(i),
        port: i.port,
        path: service.health.http.path,
        expectStatus: service.health.http.expectStatus,
      });
  return out;
}

export function dockerView(cloud: string, hosts: DockerHostSpec[], readAgents?: AgentReader): RuntimeView {
  return {
    async plan(record, current) {
      const observations = await readHosts(cloud, hosts, {}, readAgents);
      const unreachable = observations.filter((o) => !o.reachable);
      if (unreachable.length > 0)
        throw new PatchbayError(
          'PREFLIGHT_FAILED',
          unreachable.map((o) => `host ${o.host} is unreachable: ${o.reachable ? '' : o.reason}`).join('; '),
        );
      return computePlan(record, current, merge(observations));
    },
    async status(record) {
      const observations = await readHosts(cloud, hosts, probesOf(record), readAgents);
      const health: Record<string, string> = {};
      const unreachable: Record<string, string> = {};
      const configDrift: Record<string, string[]> = {};
      for (const o of observations) {
        if (o.reachable) {
          Object.assign(health, o.reading.health);
          Object.assign(configDrift, o.reading.configDrift ?? {});
        } else unreachable[o.host] = o.reason;
      }
      return dockerServices(record, merge(observations), health, unreachable, configDrift);
    },
  };
}
