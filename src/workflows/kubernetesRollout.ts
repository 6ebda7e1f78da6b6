// One service's part of a revision on Kubernetes: its Deployment is written with the new spec and
// Kubernetes' own rolling update replaces the pods (maxUnavailable/maxSurge from the record); the
// health gate is the rollout's status within the record's deadline. On failure the previous spec is
// put back through the same compensation path an on-demand rollback or a revert uses.
import { imageVersion } from '../record/identity';
import type { JobSpec, KubernetesRuntimeSpec, ServiceSpec } from '../record/schema';
import { quick, watching } from './activityProxies';
import { classifyKubernetes } from './classify';
import { failureMessage } from './failures';
import type { OperatorGate } from './operatorGate';
import { unwind } from './saga';
import type {
  InstancePhase,
  JobResultList,
  KubernetesCompensation,
  ServiceAction,
  ServiceProgress,
  ServiceResult,
  ServiceRolloutInput,
} from './types';

export async function kubernetesRollout(
  input: ServiceRolloutInput & { kubernetes: KubernetesRuntimeSpec },
  progress: ServiceProgress,
  report: (instance: string, phase: InstancePhase, detail?: string) => void,
  gate: OperatorGate,
): Promise<ServiceResult> {
  const { cloud, revision, service, target, previous } = input;
  const t = { runtime: input.kubernetes, cloud, service };
  const id = `deployment/${service}`;
  const jobs: JobResultList = [];
  const observed = await quick.k8sObserve(t);

  const action: ServiceAction = classifyKubernetes(target, {
    exists: observed.exists,
    specHash: observed.specHash,
    image: observed.spec?.image ?? null,
    done: observed.status?.done ?? false,
  });
  progress.action = action;

  const result = (
    status: ServiceResult['status'],
    steps: KubernetesCompensation[],
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

  const runJobs = async (phase: 'before' | 'after', spec: ServiceSpec): Promise<void> => {
    for (const job of spec.jobs[phase].filter((j: JobSpec) => (j.on as string[]).includes(action))) {
      report(`job ${job.name}`, 'starting', `${phase} (Kubernetes Job)`);
      jobs.push(await watching(job.timeout).k8sRunJob({ ...t, revision, phase, job, image: spec.image }));
      report(`job ${job.name}`, 'done', `${phase}, succeeded`);
    }
  };

  const step: KubernetesCompensation = {
    kubernetes: {
      ...t,
      revision,
      previous: observed.spec ?? (observed.exists ? previous : null),
      previousRevision: observed.revision ?? input.previousRevision,
    },
  };
  report(id, 'pending');
  if (!target) {
    report(id, 'removing');
    await quick.k8sRemove(t);
    report(id, 'removed');
    return result('succeeded', [step]);
  }
  try {
    await runJobs('before', target);
  } catch (error) {
    return result('failed', [], `${failureMessage(error)} (before the Deployment was touched)`);
  }

  let failure: string | undefined;
  try {
    report(
      id,
      'starting',
      `${target.replicas} replicas, maxUnavailable ${target.upgrade.maxUnavailable}, maxSurge ${target.upgrade.maxSurge}`,
    );
    const applied = await quick.k8sApply({ ...t, target, revision, previous: step.kubernetes.previous });
    step.kubernetes.previous = applied.previous;
    report(id, 'health-gate', `rollout of generation ${applied.generation}`);
    const status = await watching(target.health.timeout).k8sWaitRollout({
      ...t,
      generation: applied.generation,
      timeoutMs: target.health.timeout,
    });
    report(id, 'done', status.summary);
    await runJobs('after', target);
  } catch (error) {
    failure = failureMessage(error);
    report(id, 'failed', failure);
  }
  if (!failure) return result('succeeded', [step]);

  if (target.upgrade.onFailure === 'pause') {
    const decision = await gate.waitForDecision('rollout-failed', failure, ['rollback', 'abandon']);
    if (decision === 'abandon') return result('failed', [], `${failure} (rollback declined by operator)`);
  }
  const unwound = await unwind([step], revision, gate, report);
  if (!unwound.complete)
    return result('failed', [], `${failure}; then ${unwound.reason} (abandoned by operator)`);
  return result('rolled-back', [], failure);
}
