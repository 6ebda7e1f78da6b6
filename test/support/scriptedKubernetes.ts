// An in-memory Kubernetes for the fast workflow tests: the k8s* activities of the runtime boundary
// over a map of Deployments. A rollout completes unless its image is listed as broken (then it fails
// at its deadline, as ProgressDeadlineExceeded would); every call is journaled in order.
import { failure } from '../../src/lib/failures';
import { kubernetesSpecHash } from '../../src/record/identity';
import { Service, type KubernetesRuntimeSpec, type ServiceSpec } from '../../src/record/schema';
import type { JobResult, K8sJobInput, K8sRestoreInput } from '../../src/activities/types';
import type { RolloutStatus } from '../../src/runtime/kubernetes';

interface Target {
  runtime: KubernetesRuntimeSpec;
  cloud: string;
  service: string;
}

export interface FakeDeployment {
  spec: ServiceSpec;
  revision: number;
  generation: number;
  /** The spec it replaced (the real one keeps it in an annotation), for an idempotent retried apply. */
  previous: ServiceSpec | null;
}

export function createScriptedKubernetes() {
  const deployments = new Map<string, FakeDeployment>();
  const broken = new Set<string>();
  const failingJobs = new Set<string>();
  const journal: Array<{ op: string; cloud: string; service: string; detail?: string }> = [];
  const statusOf = (d: FakeDeployment): RolloutStatus => {
    const done = !broken.has(d.spec.image);
    const n = d.spec.replicas ?? 1;
    return {
      generation: d.generation,
      observedGeneration: d.generation,
      replicas: n,
      updated: n,
      ready: done ? n : 0,
      available: done ? n : 0,
      unavailable: done ? 0 : n,
      failed: done ? null : 'ProgressDeadlineExceeded',
      failedSince: null,
      done,
      summary: done ? `${n}/${n} available` : 'rollout stuck',
    };
  };
  const key = (t: Target) => `${t.cloud}/${t.service}`;
  const note = (op: string, t: Target, detail?: string) =>
    journal.push({ op, cloud: t.cloud, service: t.service, detail });

  const write = (t: Target, spec: ServiceSpec, revision: number, previous: ServiceSpec | null): number => {
    const generation = (deployments.get(key(t))?.generation ?? 0) + 1;
    deployments.set(key(t), { spec, revision, generation, previous });
    return generation;
  };

  const activities = {
    async k8sPreflight(input: { cloud: string; runtime: KubernetesRuntimeSpec; services: ServiceSpec[] }) {
      journal.push({ op: 'k8sPreflight', cloud: input.cloud, service: '*' });
    },
    async k8sObserve(t: Target) {
      note('k8sObserve', t);
      const d = deployments.get(key(t));
      if (!d) return { exists: false, revision: null, specHash: null, spec: null, status: null };
      return {
        exists: true,
        revision: d.revision,
        specHash: kubernetesSpecHash(d.spec),
        spec: d.spec,
        status: statusOf(d),
      };
    },
    async k8sApply(t: Target & { target: ServiceSpec; revision: number; previous: ServiceSpec | null }) {
      const current = deployments.get(key(t));
      if (current && current.revision === t.revision)
        return { generation: current.generation, previous: current.previous };
      note('k8sApply', t, t.target.image);
      const previous = current ? current.spec : null;
      return { generation: write(t, Service.parse(t.target), t.revision, previous), previous };
    },
    async k8sWaitRollout(t: Target & { generation: number; timeoutMs: number }) {
      const d = deployments.get(key(t));
      if (!d) throw failure('ROLLOUT_FAILED', `Deployment of ${t.service} is gone`);
      if (broken.has(d.spec.image)) {
        note('k8sWaitRollout', t, 'failed');
        throw failure(
          'ROLLOUT_FAILED',
          `rollout of ${t.service} did not become available within ${Math.round(t.timeoutMs / 1000)}s: rollout stuck`,
        );
      }
      note('k8sWaitRollout', t, 'done');
      return statusOf(d);
    },
    async k8sRestore(input: K8sRestoreInput) {
      note('k8sRestore', input, input.previous?.image ?? 'delete');
      if (!input.previous) {
        deployments.delete(key(input));
        return { generation: null };
      }
      const previous = Service.parse(input.previous);
      const current = deployments.get(key(input));
      if (current && kubernetesSpecHash(current.spec) === kubernetesSpecHash(previous))
        return { generation: current.generation };
      return { generation: write(input, previous, input.previousRevision ?? 0, null) };
    },
    async k8sRemove(t: Target) {
      note('k8sRemove', t);
      deployments.delete(key(t));
    },
    async k8sRunJob(input: K8sJobInput): Promise<JobResult> {
      note('k8sRunJob', input, `${input.phase} ${input.job.name}`);
      if (failingJobs.has(input.job.name))
        throw failure('JOB_FAILED', `job ${input.job.name} of ${input.service} failed with exit code 1`);
      return { job: input.job.name, phase: input.phase, exitCode: 0, durationMs: 1 };
    },
  };

  return {
    activities,
    deployments,
    /** Rollouts of this image never become available. */
    breakImage: (image: string) => broken.add(image),
    failJob: (name: string) => failingJobs.add(name),
    /** The calls for one cloud, as "op detail". */
    calls: (cloud: string) =>
      journal.filter((j) => j.cloud === cloud).map((j) => (j.detail ? `${j.op} ${j.detail}` : j.op)),
  };
}

export type ScriptedKubernetes = ReturnType<typeof createScriptedKubernetes>;
