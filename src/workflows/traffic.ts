// The load balancer in front of a service's units (HAProxy's Runtime API): which server stands for
// an instance, and where its Runtime API is driven from (the balancer's host, through that host's
// agent when it has one; otherwise the central worker).
import type { LbTarget } from '../activities/types';
import type { InstanceSpec, LoadBalancerSpec } from '../record/schema';
import type { HostActivities } from './activityProxies';
import { hostActivities, type RuntimeTarget } from './runtimes';

/** The HAProxy server that fronts an instance, if the record says one does. */
export function lbTargetOf(
  instance: InstanceSpec | null,
  loadBalancers: LoadBalancerSpec[],
  hosts: RuntimeTarget['hosts'],
): LbTarget | null {
  const balancer = instance?.lb ? loadBalancers.find((lb) => lb.name === instance.lb?.balancer) : undefined;
  if (!instance?.lb || !balancer) return null;
  const host = balancer.haproxy.host ? hosts.find((h) => h.name === balancer.haproxy.host) : undefined;
  return {
    runtimeApi: balancer.haproxy.runtimeApi,
    backend: instance.lb.backend,
    server: instance.lb.server,
    drainTimeoutMs: balancer.haproxy.drainTimeout,
    ...(host ? { host } : {}),
  };
}

/** The activity stubs that drive a balancer: from its host when the record names one. */
export function balancerActivities(cloud: string, lb: LbTarget): HostActivities {
  return hostActivities(cloud, lb.host);
}
