// One service's part of a revision: replace every instance whose container does not match the
// record, maxUnavailable at a time, each health-gated and baked; on failure, compensate.
import { setHandler } from '@temporalio/workflow';
import type { InstanceRef, JobResult, LbTarget, ServiceObservation } from '../activities/types';
import { imageVersion, instanceId, retiredContainerName } from '../record/identity';
import {
  Service,
  type DockerHostSpec,
  type InstanceSpec,
  type JobSpec,
  type ServiceSpec,
} from '../record/schema';
import { quick, stopping, watching } from './activityProxies';
import { failureMessage } from './failures';
import { serviceProgressQuery } from './messages';
import { installOperatorGate } from './operatorGate';
import { unwind } from './saga';
import { kubernetesRollout } from './kubernetesRollout';
import { classify, diffService, nothingExists } from './classify';
import type {
  InstanceCompensation,
  InstancePhase,
  ServiceProgress,
  ServiceResult,
  ServiceRolloutInput,
} from './types';

const nowIso = (): string => new Date().toISOString();

function hostsOf(specs: Array<ServiceSpec | null>, hosts: DockerHostSpec[]): DockerHostSpec[] {
  const names = new Set(specs.flatMap((s) => s?.instances.map((i) => i.host) ?? []));
  return hosts.filter((h) => names.has(h.name));
}

export async function serviceRolloutWorkflow(raw: ServiceRolloutInput): Promise<ServiceResult> {
  // Inputs recorded by older versions lack newer fields: the schema fills their defaults.
  const input: ServiceRolloutInput = {
    ...raw,
    target: raw.target && Service.parse(raw.target),
    previous: raw.previous && Service.parse(raw.previous),
    loadBalancers: raw.loadBalancers ?? [],
  };
  const { cloud, revision, service, target, previous } = input;
  const gate = installOperatorGate(nowIso);
  const progress: ServiceProgress = { service, action: 'planning', instances: [], blocked: null };
  setHandler(serviceProgressQuery, () => ({ ...progress, blocked: gate.block }));

  const report = (instance: string, phase: InstancePhase, detail?: string): void => {
    const entry = progress.instances.find((i) => i.instance === instance);
    if (entry) {
      entry.phase = phase;
      entry.detail = detail;
    } else progress.instances.push({ instance, phase, detail });
  };
  if (input.kubernetes)
    return kubernetesRollout({ ...input, kubernetes: input.kubernetes }, progress, report, gate);
  const hostByName = new Map(input.hosts.map((h) => [h.name, h]));
  const balancers = new Map(input.loadBalancers.map((lb) => [lb.name, lb]));
  /** The HAProxy server that fronts an instance, if the record says one does. */
  const lbOf = (instance: InstanceSpec | undefined): LbTarget | null => {
    const balancer = instance?.lb ? balancers.get(instance.lb.balancer) : undefined;
    if (!instance?.lb || !balancer) return null;
    return {
      runtimeApi: balancer.haproxy.runtimeApi,
      backend: instance.lb.backend,
      server: instance.lb.server,
      drainTimeoutMs: balancer.haproxy.drainTimeout,
    };
  };
  const drain = async (lb: LbTarget | null, id: string): Promise<void> => {
    if (!lb) return;
    report(id, 'draining', `${lb.backend}/${lb.server}`);
    await watching(lb.drainTimeoutMs).lbDrain(lb);
  };
  const jobs: JobResult[] = [];
  const refOf = (instance: InstanceSpec): InstanceRef => ({
    cloud,
    service,
    instance: instanceId(instance),
    host: hostByName.get(instance.host) as DockerHostSpec,
  });

  const observed: ServiceObservation = await quick.observeService({
    cloud,
    service,
    hosts: hostsOf([target, previous], input.hosts),
  });
  const { replacements, obsolete } = diffService(target, observed);
  const action = classify(target, previous, replacements.length, obsolete.length, nothingExists(observed));
  progress.action = action;

  const result = (
    status: ServiceResult['status'],
    steps: InstanceCompensation[],
    reason?: string,
  ): ServiceResult => ({
    service,
    action,
    status,
    fromVersion: previous ? imageVersion(previous.image) : null,
    toVersion: target ? imageVersion(target.image) : null,
    instances: progress.instances.map((i) => ({ ...i })),
    reason,
    steps,
    jobs,
  });
  if (action === 'unchanged') return result('unchanged', []);

  /** Runs the service's before/after jobs that apply to this kind of change, one at a time. */
  const runJobs = async (phase: 'before' | 'after', spec: ServiceSpec): Promise<void> => {
    const due = spec.jobs[phase].filter((j: JobSpec) => (j.on as string[]).includes(action));
    for (const job of due) {
      const label = `job ${job.name}`;
      report(label, 'starting', phase);
      const host = hostByName.get(job.host ?? (spec.instances[0] as InstanceSpec).host) as DockerHostSpec;
      jobs.push(
        await watching(job.timeout).runJob({
          cloud,
          service,
          revision,
          phase,
          job,
          image: spec.image,
          host,
          volumes: spec.volumes,
        }),
      );
      report(label, 'done', `${phase}, exit 0`);
    }
  };
  if (target) {
    try {
      await runJobs('before', target);
    } catch (error) {
      // Nothing has been touched yet: the change stops here.
      return result('failed', [], `${failureMessage(error)} (before any instance was touched)`);
    }
  }

  for (const instance of replacements) report(instanceId(instance), 'pending');
  for (const gone of obsolete) report(gone.instance, 'pending', 'not in the record any more');

  // The way back for an instance: its kept container, or its previous spec if that container is gone.
  const previousOf = (id: string): InstanceCompensation['previous'] => {
    const before = previous?.instances.find((p) => instanceId(p) === id);
    const active = observed.active[id];
    return previous && before && active
      ? { service: previous, instance: before, revision: active.revision }
      : null;
  };

  const steps: InstanceCompensation[] = [];
  const replaceOne = async (instance: InstanceSpec, spec: ServiceSpec): Promise<void> => {
    const ref = refOf(instance);
    const active = observed.active[ref.instance];
    // Only a serving instance is drained and re-enabled; a new one comes up as HAProxy's config says.
    const lb = active ? lbOf(instance) : null;
    // Recorded before acting, so a failure halfway through retiring is compensated too.
    steps.push({
      ref,
      port: instance.port,
      retiredName: active ? retiredContainerName(cloud, service, ref.instance, revision) : null,
      previous: previousOf(ref.instance),
      lb,
    });
    await drain(lb, ref.instance);
    if (active) {
      report(ref.instance, 'retiring');
      await stopping(previous?.stopGracePeriod ?? spec.stopGracePeriod).retireInstance({
        ref,
        revision,
        stopTimeoutMs: previous?.stopGracePeriod ?? spec.stopGracePeriod,
      });
    }
    report(ref.instance, 'starting');
    const started = await quick.startInstance({ ref, service: spec, instance, revision });
    report(ref.instance, 'health-gate');
    const gated = await watching(spec.health.timeout).waitHealthy({
      ref,
      port: instance.port,
      health: spec.health,
    });
    if (lb) {
      report(ref.instance, 'enabling', `${lb.backend}/${lb.server}`);
      await watching(spec.health.timeout).lbEnable({ ...lb, upTimeoutMs: spec.health.timeout });
    }
    if (spec.upgrade.bake > 0) {
      report(ref.instance, 'baking', `healthy after ${gated.elapsedMs} ms`);
      await watching(spec.upgrade.bake).bakeInstance({
        ref,
        port: instance.port,
        health: spec.health,
        containerId: started.containerId,
        bakeMs: spec.upgrade.bake,
      });
    }
    report(ref.instance, 'done', `healthy after ${gated.elapsedMs} ms`);
  };

  let failure: string | undefined;
  if (target) {
    const batchSize = target.upgrade.maxUnavailable;
    for (let i = 0; i < replacements.length && !failure; i += batchSize) {
      const batch = replacements.slice(i, i + batchSize);
      // allSettled, not all: every started instance must finish and be on the stack before unwinding.
      const settled = await Promise.allSettled(batch.map((instance) => replaceOne(instance, target)));
      settled.forEach((outcome, k) => {
        if (outcome.status === 'rejected') {
          const message = failureMessage(outcome.reason);
          report(instanceId(batch[k] as InstanceSpec), 'failed', message);
          failure ??= message;
        }
      });
    }
  }
  // Instances no longer in the record are retired (kept until commit), after the new ones serve.
  for (const gone of failure ? [] : obsolete) {
    const before = previous?.instances.find((p) => instanceId(p) === gone.instance);
    const host = before ? hostByName.get(before.host) : undefined;
    if (!before || !host) continue;
    const ref: InstanceRef = { cloud, service, instance: gone.instance, host };
    const lb = lbOf(before);
    steps.push({
      ref,
      port: before.port,
      retiredName: retiredContainerName(cloud, service, gone.instance, revision),
      previous: previousOf(gone.instance),
      lb,
    });
    try {
      await drain(lb, gone.instance);
      report(gone.instance, 'removing');
      await stopping(previous?.stopGracePeriod ?? 10_000).retireInstance({
        ref,
        revision,
        stopTimeoutMs: previous?.stopGracePeriod ?? 10_000,
      });
      report(gone.instance, 'removed');
    } catch (error) {
      failure = failureMessage(error);
      report(gone.instance, 'failed', failure);
    }
  }
  if (!failure && target) {
    try {
      await runJobs('after', target);
    } catch (error) {
      failure = failureMessage(error);
    }
  }
  if (!failure) return result('succeeded', steps);

  const policy = (target ?? previous)?.upgrade.onFailure ?? 'rollback';
  if (policy === 'pause') {
    const decision = await gate.waitForDecision('rollout-failed', failure, ['rollback', 'abandon']);
    if (decision === 'abandon') return result('failed', [], `${failure} (rollback declined by operator)`);
  }
  const unwound = await unwind(steps, revision, gate, report);
  if (!unwound.complete)
    return result('failed', [], `${failure}; then ${unwound.reason} (abandoned by operator)`);
  return result('rolled-back', [], failure);
}
