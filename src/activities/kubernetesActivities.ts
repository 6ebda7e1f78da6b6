// The Kubernetes implementation of the runtime boundary: a service is a Deployment (plus a Service
// and, for secrets, a Secret); a patch changes the Deployment and lets its rolling update run with
// the record's maxUnavailable/maxSurge; health is the rollout's status against the record's deadline;
// compensation puts the previous spec back. One-off jobs are Kubernetes Jobs. Idempotent: a retried
// apply finds its own revision on the Deployment; the previous spec lives in an annotation.
import { Context } from '@temporalio/activity';
import type * as K8s from '@kubernetes/client-node';
import { failure } from '../lib/failures';
import { LABEL } from '../record/identity';
import { Service, type KubernetesRuntimeSpec, type ServiceSpec } from '../record/schema';
import {
  PREVIOUS_ANNOTATION,
  SPEC_ANNOTATION,
  apiStatus,
  deploymentConfig,
  deploymentFor,
  deploymentName,
  describeApiError,
  isFreshFailure,
  kubeErrorReason,
  kubeClients,
  kubernetesSpecHash,
  rolloutStatus,
  secretName,
  serviceObjectFor,
  type KubeClients,
  type RolloutStatus,
} from '../runtime/kubernetes';
import {
  configHashesToKeep,
  configMapFor,
  configSecretFor,
  configSecretRefs,
  configSelector,
  previousConfigHash,
  withConfigMounts,
  CONFIG_HASH_LABEL,
  type ServiceConfig,
} from '../runtime/kubernetesConfig';
import { configFilesOf } from '../record/configFiles';
import { renderTemplate } from '../record/template';
import { maskSecrets, resolveSecretEnv, resolveSecretRef } from '../runtime/secrets';
import type { JobResult, K8sJobInput, K8sRestoreInput } from './types';

export interface KubernetesActivityDeps {
  kube?: (runtime: KubernetesRuntimeSpec) => KubeClients;
  /** Labels added to every object (tests: to find leftovers). */
  extraLabels?: Record<string, string>;
}

export interface K8sTarget {
  runtime: KubernetesRuntimeSpec;
  cloud: string;
  service: string;
}

export interface K8sObservation {
  exists: boolean;
  revision: number | null;
  specHash: string | null;
  spec: ServiceSpec | null;
  status: RolloutStatus | null;
}

async function readOrNull<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (apiStatus(error) === 404) return null;
    throw error;
  }
}

/** A create that lost a race to an earlier attempt of the same activity found what it wanted. */
async function createIfAbsent(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (apiStatus(error) !== 409) throw error;
  }
}

/** Whether a Secret's data (base64) already holds these values; compared here, never returned. */
function sameSecretData(data: Record<string, string> | undefined, values: Record<string, string>): boolean {
  const have = data ?? {};
  const keys = Object.keys(values);
  return (
    Object.keys(have).length === keys.length &&
    keys.every((k) => have[k] !== undefined && Buffer.from(have[k], 'base64').toString('utf8') === values[k])
  );
}

export function createKubernetesActivities(deps: KubernetesActivityDeps = {}) {
  const kube = deps.kube ?? kubeClients;
  const extra = deps.extraLabels ?? {};
  const ns = (t: { runtime: KubernetesRuntimeSpec }) => t.runtime.namespace;

  const readDeployment = (c: KubeClients, t: K8sTarget) =>
    readOrNull(() =>
      c.apps.readNamespacedDeployment({ name: deploymentName(t.cloud, t.service), namespace: ns(t) }),
    );

  /** Creates or replaces an object, keeping its resourceVersion (optimistic concurrency). */
  async function upsert<T extends { metadata?: K8s.V1ObjectMeta }>(
    read: () => Promise<T | null>,
    create: (body: T) => Promise<T>,
    replace: (body: T) => Promise<T>,
    body: T,
  ): Promise<T> {
    const found = await read();
    if (!found) return create(body);
    return replace({
      ...body,
      metadata: { ...body.metadata, resourceVersion: found.metadata?.resourceVersion },
    });
  }

  /**
   * The config objects of a service, before the Deployment that mounts them. A ConfigMap is named
   * after its content: one that exists is already right (a retry, a rollback to kept files). A
   * Secret's values come from the worker, which may have rotated them: rewritten when they differ.
   */
  async function writeConfig(c: KubeClients, namespace: string, config: ServiceConfig): Promise<void> {
    const map = configMapFor(config, extra);
    if (map) {
      const found = await readOrNull(() => c.core.readNamespacedConfigMap({ name: config.name, namespace }));
      if (!found) await createIfAbsent(() => c.core.createNamespacedConfigMap({ namespace, body: map }));
    }
    const secret = configSecretFor(config, resolveSecretRef, extra);
    if (secret) {
      const name = config.name;
      const found = await readOrNull(() => c.core.readNamespacedSecret({ name, namespace }));
      if (!found) await createIfAbsent(() => c.core.createNamespacedSecret({ namespace, body: secret }));
      else if (!sameSecretData(found.data, secret.stringData ?? {}))
        await c.core.replaceNamespacedSecret({
          name,
          namespace,
          body: {
            ...secret,
            metadata: { ...secret.metadata, resourceVersion: found.metadata?.resourceVersion },
          },
        });
    }
  }

  /**
   * Deletes a service's config objects except those with a hash in `keep`. Best effort (logged): it
   * runs once the work it follows has succeeded, and the next rollout deletes what is left. Safe to
   * repeat: an object already gone is skipped.
   */
  async function deleteConfig(c: KubeClients, t: K8sTarget, keep: string[]): Promise<void> {
    const namespace = ns(t);
    const labelSelector = configSelector(t.cloud, t.service);
    const stale = (items: Array<{ metadata?: K8s.V1ObjectMeta }>) =>
      items
        .filter((o) => !keep.includes(o.metadata?.labels?.[CONFIG_HASH_LABEL] ?? ''))
        .map((o) => o.metadata?.name ?? '')
        .filter(Boolean);
    const deleted: string[] = [];
    try {
      for (const name of stale((await c.core.listNamespacedConfigMap({ namespace, labelSelector })).items)) {
        await readOrNull(() => c.core.deleteNamespacedConfigMap({ name, namespace }));
        deleted.push(`ConfigMap ${name}`);
      }
      for (const name of stale((await c.core.listNamespacedSecret({ namespace, labelSelector })).items)) {
        await readOrNull(() => c.core.deleteNamespacedSecret({ name, namespace }));
        deleted.push(`Secret ${name}`);
      }
    } catch (error) {
      Context.current().log.warn('config cleanup failed; the next rollout retries it', {
        service: t.service,
        reason: describeApiError(error, c.server, namespace, 'delete ConfigMaps and Secrets'),
      });
    }
    if (deleted.length) Context.current().log.info('old config deleted', { service: t.service, deleted });
  }

  async function applySpec(
    t: K8sTarget,
    service: ServiceSpec,
    revision: number,
    previous: ServiceSpec | null,
  ): Promise<number> {
    const c = kube(t.runtime);
    const namespace = ns(t);
    const config = deploymentConfig(t.cloud, service);
    if (config) await writeConfig(c, namespace, config);
    const secrets = resolveSecretEnv(service.secretEnv);
    const keys = Object.keys(secrets);
    if (keys.length) {
      const name = secretName(t.cloud, service.name);
      await upsert(
        () => readOrNull(() => c.core.readNamespacedSecret({ name, namespace })),
        (body) => c.core.createNamespacedSecret({ namespace, body }),
        (body) => c.core.replaceNamespacedSecret({ name, namespace, body }),
        { apiVersion: 'v1', kind: 'Secret', metadata: { name, labels: extra }, stringData: secrets },
      );
    }
    const svc = serviceObjectFor(t.cloud, service);
    svc.metadata!.labels = { ...svc.metadata!.labels, ...extra };
    const name = deploymentName(t.cloud, service.name);
    await upsert(
      () => readOrNull(() => c.core.readNamespacedService({ name, namespace })),
      (body) => c.core.createNamespacedService({ namespace, body }),
      async (body) => {
        // A Service's clusterIP is immutable: keep the one it has.
        const found = await c.core.readNamespacedService({ name, namespace });
        return c.core.replaceNamespacedService({
          name,
          namespace,
          body: { ...body, spec: { ...body.spec, clusterIP: found.spec?.clusterIP } },
        });
      },
      svc,
    );
    const current = await readOrNull(() => c.apps.readNamespacedDeployment({ name, namespace }));
    const deployment = deploymentFor(t.cloud, service, revision, {
      previous,
      testLabels: extra,
      secretKeys: keys,
      config,
      previousConfigHash: previousConfigHash(current, config),
    });
    const written = await upsert(
      async () => current,
      (body) => c.apps.createNamespacedDeployment({ namespace, body }),
      (body) => c.apps.replaceNamespacedDeployment({ name, namespace, body }),
      deployment,
    );
    return written.metadata?.generation ?? 1;
  }

  async function removeService(t: K8sTarget): Promise<void> {
    const c = kube(t.runtime);
    const namespace = ns(t);
    const name = deploymentName(t.cloud, t.service);
    await readOrNull(() =>
      c.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: 'Foreground' }),
    );
    await readOrNull(() => c.core.deleteNamespacedService({ name, namespace }));
    await readOrNull(() =>
      c.core.deleteNamespacedSecret({ name: secretName(t.cloud, t.service), namespace }),
    );
    await deleteConfig(c, t, []);
  }

  return {
    /** Before anything is touched: the API server answers, the namespace exists, we may manage Deployments. */
    async k8sPreflight(input: { cloud: string; runtime: KubernetesRuntimeSpec; services: ServiceSpec[] }) {
      const problems: string[] = [];
      let c: KubeClients;
      try {
        c = kube(input.runtime);
      } catch (error) {
        throw failure(
          'PREFLIGHT_FAILED',
          `preflight failed, nothing was touched: cannot load kubeconfig ${input.runtime.kubeconfig ?? '(default)'}: ${kubeErrorReason(error)}`,
        );
      }
      const namespace = input.runtime.namespace;
      try {
        await c.apps.listNamespacedDeployment({ namespace, limit: 1 });
        const found = await readOrNull(() => c.core.readNamespace({ name: namespace }));
        if (!found) problems.push(`namespace "${namespace}" does not exist on ${c.server}; create it first`);
      } catch (error) {
        problems.push(describeApiError(error, c.server, namespace, 'manage Deployments'));
      }
      // Config files live in ConfigMaps (and Secrets), which cleanup lists: a user who may not is
      // told now, not after a half-made change.
      if (problems.length === 0 && input.services.some((s) => Object.keys(configFilesOf(s)).length > 0)) {
        try {
          await c.core.listNamespacedConfigMap({ namespace, limit: 1 });
        } catch (error) {
          problems.push(describeApiError(error, c.server, namespace, 'manage ConfigMaps (config files)'));
        }
      }
      for (const service of input.services) {
        try {
          resolveSecretEnv(service.secretEnv);
          // Config files' secrets too: a missing one must stop the change before anything is touched.
          for (const { ref, key } of configSecretRefs(service)) resolveSecretRef(ref, key);
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
      if (problems.length)
        throw failure('PREFLIGHT_FAILED', `preflight failed, nothing was touched: ${problems.join('; ')}`, {
          problems,
        });
    },

    async k8sObserve(t: K8sTarget): Promise<K8sObservation> {
      const d = await readDeployment(kube(t.runtime), t);
      if (!d) return { exists: false, revision: null, specHash: null, spec: null, status: null };
      const raw = d.metadata?.annotations?.[SPEC_ANNOTATION];
      return {
        exists: true,
        revision: Number(d.metadata?.labels?.[LABEL.revision] ?? 0) || null,
        specHash: d.metadata?.annotations?.[LABEL.specHash] ?? null,
        spec: raw ? Service.parse(JSON.parse(raw)) : null,
        status: rolloutStatus(d),
      };
    },

    /** Writes the Deployment for this revision; returns its generation and the spec it replaced. */
    async k8sApply(
      input: K8sTarget & { target: ServiceSpec; revision: number; previous: ServiceSpec | null },
    ): Promise<{ generation: number; previous: ServiceSpec | null }> {
      const c = kube(input.runtime);
      const current = await readDeployment(c, input);
      if (current && current.metadata?.labels?.[LABEL.revision] === String(input.revision)) {
        // A retry: this revision is already written; what it replaced is in the annotation.
        const prev = current.metadata?.annotations?.[PREVIOUS_ANNOTATION];
        return {
          generation: current.metadata?.generation ?? 1,
          previous: prev && prev !== 'null' ? Service.parse(JSON.parse(prev)) : null,
        };
      }
      const raw = current?.metadata?.annotations?.[SPEC_ANNOTATION];
      const previous = raw ? Service.parse(JSON.parse(raw)) : input.previous;
      const generation = await applySpec(input, input.target, input.revision, current ? previous : null);
      return { generation, previous: current ? previous : null };
    },

    /** Waits (heartbeating) until the rollout of a generation is complete; fails at the record's deadline. */
    async k8sWaitRollout(
      input: K8sTarget & { generation: number; timeoutMs: number },
    ): Promise<RolloutStatus> {
      const ctx = Context.current();
      const c = kube(input.runtime);
      const resumed = ctx.info.heartbeatDetails as
        { startedAt: number; staleFailure?: string | null } | undefined;
      const startedAt = resumed?.startedAt ?? Date.now();
      // A ProgressDeadlineExceeded already there when this wait began is an earlier rollout's.
      let staleFailure: string | null | undefined = resumed ? (resumed.staleFailure ?? null) : undefined;
      let last: string;
      for (;;) {
        const d = await readDeployment(c, input);
        if (!d) throw failure('ROLLOUT_FAILED', `Deployment of ${input.service} is gone`);
        const status = rolloutStatus(d);
        staleFailure ??= status.failed ? status.failedSince : null;
        last = status.summary;
        if (status.generation > input.generation)
          throw failure(
            'ROLLOUT_FAILED',
            `Deployment of ${input.service} was changed by someone else (generation ${status.generation})`,
          );
        if (status.done && status.observedGeneration >= input.generation) {
          // Complete: the config before the previous one cannot be needed any more.
          const keep = configHashesToKeep(d);
          if (keep.length) await deleteConfig(c, input, keep); // no config ever: no calls at all
          return status;
        }
        const elapsed = Date.now() - startedAt;
        if (isFreshFailure(status, staleFailure) || elapsed > input.timeoutMs)
          throw failure(
            'ROLLOUT_FAILED',
            `rollout of ${input.service} did not become available within ${Math.round(input.timeoutMs / 1000)}s: ${last}`,
            { lastStatus: last },
          );
        ctx.heartbeat({ startedAt, staleFailure, last });
        await ctx.sleep(500);
      }
    },

    /** Compensation: the previous spec back (or, for a service this revision created, no Deployment). */
    async k8sRestore(input: K8sRestoreInput): Promise<{ generation: number | null }> {
      if (!input.previous) {
        await removeService(input);
        return { generation: null };
      }
      const previous = Service.parse(input.previous);
      const c = kube(input.runtime);
      const current = await readDeployment(c, input);
      if (current && current.metadata?.annotations?.[LABEL.specHash] === kubernetesSpecHash(previous))
        return { generation: current.metadata?.generation ?? 1 }; // already restored (a retry)
      const generation = await applySpec(input, previous, input.previousRevision ?? 0, null);
      return { generation };
    },

    async k8sRemove(t: K8sTarget): Promise<void> {
      await removeService(t);
    },

    /** A one-off job (db_sync…) as a Kubernetes Job; idempotent by name (service, job, revision). */
    async k8sRunJob(input: K8sJobInput): Promise<JobResult> {
      const ctx = Context.current();
      const c = kube(input.runtime);
      const namespace = input.runtime.namespace;
      const name = `pb-${input.cloud}-${input.service}-${input.job.name}-r${input.revision}`
        .slice(0, 63)
        .replace(/-+$/, '');
      const started = Date.now();
      const existing = await readOrNull(() => c.batch.readNamespacedJob({ name, namespace }));
      if (!existing) {
        // The service's files, written before the job that reads them (a before-job runs ahead of
        // the Deployment that would otherwise write them).
        const config = input.config
          ? deploymentConfig(input.cloud, { name: input.service, port: input.port, config: input.config })
          : null;
        if (config) await writeConfig(c, namespace, config);
        await c.batch.createNamespacedJob({
          namespace,
          body: {
            apiVersion: 'batch/v1',
            kind: 'Job',
            metadata: {
              name,
              labels: {
                [LABEL.cloud]: input.cloud,
                [LABEL.service]: input.service,
                [LABEL.job]: input.job.name,
                ...extra,
              },
            },
            spec: {
              backoffLimit: 0,
              activeDeadlineSeconds: Math.ceil(input.job.timeout / 1000),
              template: {
                metadata: { labels: { [LABEL.cloud]: input.cloud, [LABEL.job]: input.job.name } },
                spec: withConfigMounts(
                  {
                    restartPolicy: 'Never',
                    // A snapshot's directory on the node (the same path inside), made if missing.
                    ...(input.hostPaths?.length && {
                      volumes: input.hostPaths.map((p, i) => ({
                        name: `host-${i}`,
                        hostPath: { path: p, type: 'DirectoryOrCreate' },
                      })),
                    }),
                    containers: [
                      {
                        name: input.job.name,
                        ...(input.hostPaths?.length && {
                          volumeMounts: input.hostPaths.map((p, i) => ({ name: `host-${i}`, mountPath: p })),
                        }),
                        image: input.job.image ?? input.image,
                        command: input.job.command.map((part) =>
                          renderTemplate(part, { service: input.service }),
                        ),
                        env: Object.entries({
                          ...Object.fromEntries(
                            Object.entries(input.job.env).map(([k, v]) => [
                              k,
                              renderTemplate(v, { service: input.service }),
                            ]),
                          ),
                          ...resolveSecretEnv(input.job.secretEnv),
                        }).map(([k, v]) => ({ name: k, value: v })),
                      },
                    ],
                  },
                  config,
                ),
              },
            },
          },
        });
      }
      for (;;) {
        const job = await c.batch.readNamespacedJob({ name, namespace });
        const failed = job.status?.conditions?.find((x) => x.type === 'Failed' && x.status === 'True');
        const durationMs = Date.now() - started;
        if ((job.status?.succeeded ?? 0) > 0 || failed) {
          // What a captured phase printed and how it exited, read from its pod before the Job goes.
          const pod = input.capture
            ? await jobPodOutcome(c, namespace, name, input.capture.outputLines)
            : null;
          await readOrNull(() =>
            c.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' }),
          );
          const output = maskSecrets(pod?.log ?? '', input.job.secretEnv);
          // A check answers by its exit code; without its pod's status, 1 stands for any failure.
          if (failed && input.capture?.anyExitCode)
            return {
              job: input.job.name,
              phase: input.phase,
              exitCode: pod?.exitCode ?? 1,
              durationMs,
              output: output || `${failed.reason ?? ''} ${failed.message ?? ''}`.trim(),
            };
          if (!failed && input.capture)
            return { job: input.job.name, phase: input.phase, exitCode: 0, durationMs, output };
          if (failed)
            throw failure(
              'JOB_FAILED',
              `job ${input.job.name} of ${input.service} (Kubernetes Job ${name}) failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim(),
            );
          return { job: input.job.name, phase: input.phase, exitCode: 0, durationMs };
        }
        if (durationMs > input.job.timeout + 30_000)
          throw failure('JOB_FAILED', `job ${input.job.name} of ${input.service} did not finish in time`);
        ctx.heartbeat();
        await ctx.sleep(500);
      }
    },
  };
}

/**
 * The exit code and last log lines of a Job's pod, as far as the cluster can tell: a node that keeps
 * no logs (KWOK's simulated ones) gives none, and a snapshot then fails for want of its checksum line.
 */
async function jobPodOutcome(
  c: ReturnType<typeof kubeClients>,
  namespace: string,
  job: string,
  lines: number,
): Promise<{ exitCode: number | null; log: string } | null> {
  const pods = await readOrNull(() =>
    c.core.listNamespacedPod({ namespace, labelSelector: `job-name=${job}` }),
  );
  const pod = pods?.items[0];
  const name = pod?.metadata?.name;
  if (!name) return null;
  const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
  const log = await c.core
    .readNamespacedPodLog({ name, namespace, tailLines: lines })
    .then((text) => String(text).replace(/\r\n/g, '\n').trimEnd())
    .catch(() => '');
  return { exitCode: terminated?.exitCode ?? null, log };
}
