// Activities that act on Docker hosts. Every one is idempotent: it looks the world up by name and
// label first, so a retry after a worker crash finds what the first attempt did and carries on.
import { Context } from '@temporalio/activity';
import type Docker from 'dockerode';
import {
  LABEL,
  activeContainerName,
  imageVersion,
  instanceSpecHash,
  instanceTemplateValues,
  retiredContainerName,
} from '../record/identity';
import {
  DEFAULT_FAILURE_THRESHOLD,
  type DockerHostSpec,
  type InstanceSpec,
  type ServiceSpec,
} from '../record/schema';
import { PatchbayError } from '../lib/errors';
import { failure } from '../lib/failures';
import { dockerStatus, inspectOrNull, unreachableReason } from '../runtime/dockerClient';
import { groupByService, listCloudContainers } from '../runtime/observe';
import { containerLogTail } from '../runtime/containerLogs';
import { probeHttp } from '../runtime/httpProbe';
import { readHost, type HostProbe, type HostReading } from '../runtime/readHost';
import { renderTemplate } from '../record/template';
import { resolveSecretEnv } from '../runtime/secrets';
import { renderConfigFiles, type RenderedConfigFile } from '../record/configFiles';
import { configDigest, deliverConfigFiles, resolveConfigFiles } from '../runtime/configDelivery';
import type {
  BakeInput,
  CommitInput,
  GateFailureDetails,
  HealthGateInput,
  HealthGateResult,
  InstanceRef,
  PreflightInput,
  RestoreInput,
  RestoreResult,
  RetireInput,
  RetireResult,
  ServiceObservation,
  StartInput,
  StartResult,
} from './types';

export interface ActivityDeps {
  /** Returns the Docker client for a host of a record. */
  docker: (host: DockerHostSpec) => Docker;
  /** Labels added to every container (tests mark theirs so leftovers can be found). */
  extraLabels?: Record<string, string>;
}

/** PatchbayErrors from helpers become failures of their type (bad input: not retried). */
function asFailure(error: unknown): unknown {
  return error instanceof PatchbayError ? error.toFailure() : error;
}

async function stopQuietly(docker: Docker, id: string, timeoutMs: number): Promise<void> {
  try {
    await docker.getContainer(id).stop({ t: Math.ceil(timeoutMs / 1000) });
  } catch (error) {
    if (dockerStatus(error) !== 304 && dockerStatus(error) !== 404) throw error; // 304: already stopped
  }
}

async function startQuietly(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getContainer(id).start();
  } catch (error) {
    if (dockerStatus(error) !== 304) throw error; // 304: already running
  }
}

async function removeQuietly(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true });
  } catch (error) {
    if (dockerStatus(error) !== 404 && dockerStatus(error) !== 409) throw error; // 409: removal in progress
  }
}

function healthUrl(input: HealthGateInput): string {
  return `http://${input.ref.host.address}:${input.port}${input.health.http.path}`;
}

function describeCheck(input: HealthGateInput): string {
  return `GET ${healthUrl(input)} expecting ${input.health.http.expectStatus}`;
}

function exitDescription(info: Docker.ContainerInspectInfo): string {
  return `container ${info.State.Status} (exit code ${info.State.ExitCode})`;
}

/** An instance's config files, rendered and with secrets resolved (a PatchbayError if one cannot be). */
function instanceConfigFiles(service: ServiceSpec, instance: InstanceSpec): RenderedConfigFile[] {
  try {
    return resolveConfigFiles(renderConfigFiles(service, instanceTemplateValues(service, instance)));
  } catch (error) {
    throw asFailure(error);
  }
}

/**
 * Starts a container; one never started yet gets its config files first (also when a retry adopts a
 * container whose first attempt died between create and copy).
 */
async function prepareAndStart(
  docker: Docker,
  id: string,
  service: ServiceSpec,
  instance: InstanceSpec,
): Promise<void> {
  const info = await docker.getContainer(id).inspect();
  if (info.State.Status === 'created') {
    await deliverConfigFiles(docker, id, instanceConfigFiles(service, instance));
  }
  await startQuietly(docker, id);
}

export function createDockerActivities(deps: ActivityDeps) {
  const client = (ref: { host: DockerHostSpec }) => deps.docker(ref.host);

  async function createContainer(
    docker: Docker,
    ref: InstanceRef,
    service: ServiceSpec,
    instance: InstanceSpec,
    revision: number,
  ): Promise<string> {
    try {
      await docker.getImage(service.image).inspect();
    } catch (error) {
      if (dockerStatus(error) === 404) {
        throw failure('PREFLIGHT_FAILED', `image ${service.image} is not present on host ${ref.host.name}`);
      }
      throw error;
    }
    const values = instanceTemplateValues(service, instance);
    const env = Object.entries(service.env).map(([k, v]) => `${k}=${renderTemplate(v, values)}`);
    let secrets: Record<string, string>;
    try {
      secrets = resolveSecretEnv(service.secretEnv);
    } catch (error) {
      throw asFailure(error);
    }
    env.push(...Object.entries(secrets).map(([k, v]) => `${k}=${v}`));
    const files = instanceConfigFiles(service, instance);
    const name = activeContainerName(ref.cloud, ref.service, ref.instance);
    try {
      const container = await docker.createContainer({
        name,
        Image: service.image,
        Env: env,
        Cmd: service.command?.map((part) => renderTemplate(part, values)),
        Labels: {
          ...deps.extraLabels,
          [LABEL.managed]: 'true',
          [LABEL.cloud]: ref.cloud,
          [LABEL.service]: ref.service,
          [LABEL.instance]: ref.instance,
          [LABEL.version]: imageVersion(service.image),
          [LABEL.revision]: String(revision),
          [LABEL.specHash]: instanceSpecHash(service, instance),
          ...(files.length > 0 ? { [LABEL.configDigest]: configDigest(files) } : {}),
        },
        StopTimeout: Math.ceil(service.stopGracePeriod / 1000),
        HostConfig: {
          NetworkMode: 'host', // as Kolla does: each instance binds its own port on the host
          Init: true, // signals reach the service even when it does not handle them as PID 1
          RestartPolicy: { Name: 'unless-stopped' },
          Binds: service.volumes.map((v) => `${v.source}:${v.target}${v.readOnly ? ':ro' : ''}`),
        },
      });
      return container.id;
    } catch (error) {
      if (dockerStatus(error) === 409) {
        // A previous attempt created it before the worker died: adopt it.
        const existing = await inspectOrNull(docker, name);
        if (existing) return existing.Id;
      }
      throw error;
    }
  }

  return {
    /** Checks everything a change needs before it touches anything: hosts answer, image present, secrets resolvable. */
    async preflightService(input: PreflightInput): Promise<void> {
      const hostNames = new Set(input.service.instances.map((i) => i.host));
      const problems: string[] = [];
      for (const host of input.hosts.filter((h) => hostNames.has(h.name))) {
        const unreachable = await unreachableReason(host);
        if (unreachable) {
          problems.push(`host ${host.name} (${host.endpoint}) is unreachable: ${unreachable}`);
          continue;
        }
        try {
          await deps.docker(host).getImage(input.service.image).inspect();
        } catch (error) {
          if (dockerStatus(error) !== 404) throw error;
          problems.push(
            `image ${input.service.image} is not present on host ${host.name}; build or load it there (there is no registry to pull from)`,
          );
        }
      }
      try {
        resolveSecretEnv(input.service.secretEnv);
      } catch (error) {
        problems.push((error as Error).message);
      }
      try {
        resolveConfigFiles(renderConfigFiles(input.service, { service: input.service.name }));
      } catch (error) {
        problems.push((error as Error).message);
      }
      if (problems.length > 0) {
        throw failure(
          'PREFLIGHT_FAILED',
          `preflight for service ${input.service.name} failed, nothing was touched: ${problems.join('; ')}`,
          { service: input.service.name, problems },
        );
      }
    },

    /** The containers that serve (and are kept for) one service, read back by label from every host. */
    async observeService(input: {
      cloud: string;
      service: string;
      hosts: DockerHostSpec[];
    }): Promise<ServiceObservation> {
      const byService = new Map<string, ServiceObservation>();
      for (const host of input.hosts) {
        groupByService(await listCloudContainers(deps.docker(host), input.cloud, input.service), byService);
      }
      return byService.get(input.service) ?? { active: {}, retired: [] };
    },

    /** Everything of a cloud on one host, and its instances' health from there (status, plan). */
    async observeHost(input: {
      cloud: string;
      host: DockerHostSpec;
      probes?: HostProbe[];
    }): Promise<HostReading> {
      return readHost(deps.docker(input.host), input.cloud, input.host.address, input.probes);
    },

    /** Stops an instance's container and keeps it under another name for instant rollback. */
    async retireInstance(input: RetireInput): Promise<RetireResult> {
      const docker = client(input.ref);
      const retiredName = retiredContainerName(
        input.ref.cloud,
        input.ref.service,
        input.ref.instance,
        input.revision,
      );
      const active = await inspectOrNull(
        docker,
        activeContainerName(input.ref.cloud, input.ref.service, input.ref.instance),
      );
      if (!active || active.Config.Labels[LABEL.revision] === String(input.revision)) {
        // Nothing to retire, or this change already replaced it: report what is kept, if anything.
        const kept = await inspectOrNull(docker, retiredName);
        return { retiredName: kept ? retiredName : null, containerId: kept?.Id ?? null };
      }
      await stopQuietly(docker, active.Id, input.stopTimeoutMs);
      const clash = await inspectOrNull(docker, retiredName);
      if (clash && clash.Id !== active.Id) await removeQuietly(docker, clash.Id);
      await docker.getContainer(active.Id).rename({ name: retiredName });
      return { retiredName, containerId: active.Id };
    },

    /** Creates and starts the container of an instance at a revision; adopts it if a retry finds it. */
    async startInstance(input: StartInput): Promise<StartResult> {
      const docker = client(input.ref);
      const name = activeContainerName(input.ref.cloud, input.ref.service, input.ref.instance);
      const existing = await inspectOrNull(docker, name);
      let id: string;
      if (existing) {
        const ours =
          existing.Config.Labels[LABEL.revision] === String(input.revision) &&
          existing.Config.Labels[LABEL.specHash] === instanceSpecHash(input.service, input.instance);
        if (!ours) {
          throw failure(
            'CONFLICT',
            `container ${name} exists (revision ${existing.Config.Labels[LABEL.revision] ?? '?'}) and was not retired first`,
          );
        }
        id = existing.Id;
      } else {
        id = await createContainer(docker, input.ref, input.service, input.instance, input.revision);
      }
      await prepareAndStart(docker, id, input.service, input.instance);
      return { containerId: id, name };
    },

    /** Polls an instance's health endpoint until it answers as expected; fails fast if the container dies. */
    async waitHealthy(input: HealthGateInput): Promise<HealthGateResult> {
      const ctx = Context.current();
      const docker = client(input.ref);
      const name = activeContainerName(input.ref.cloud, input.ref.service, input.ref.instance);
      // A retried attempt keeps the original deadline: the gate's timeout is the operator's, not per attempt.
      const [resumed] = ctx.info.heartbeatDetails
        ? [ctx.info.heartbeatDetails as { startedAt: number; serverErrors?: number }]
        : [];
      const startedAt = resumed?.startedAt ?? Date.now();
      const threshold = input.health.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD;
      // Consecutive 5xx answers: the process runs and answers, and says it is broken.
      let serverErrors = resumed?.serverErrors ?? 0;
      let attempts = 0;
      let lastResponse: string;
      for (;;) {
        attempts++;
        const info = await inspectOrNull(docker, name);
        if (!info) lastResponse = 'container missing';
        else if (!info.State.Running) lastResponse = exitDescription(info);
        else {
          const probe = await probeHttp(
            healthUrl(input),
            Math.max(500, Math.min(input.health.interval, 5_000)),
          );
          lastResponse = probe.summary;
          if (probe.status === input.health.http.expectStatus) {
            return { elapsedMs: Date.now() - startedAt, attempts, lastResponse };
          }
          serverErrors = probe.status !== undefined && probe.status >= 500 ? serverErrors + 1 : 0;
        }
        ctx.heartbeat({ startedAt, attempts, lastResponse, serverErrors });
        const elapsed = Date.now() - startedAt;
        // A container that keeps dying will not pass later either: fail now rather than at the timeout.
        const crashLooping = info !== null && info.RestartCount >= 3;
        const answersBroken = threshold > 0 && serverErrors >= threshold;
        if (answersBroken) lastResponse = `${lastResponse} (${serverErrors} in a row)`;
        if (elapsed >= input.health.timeout || crashLooping || answersBroken) {
          const details: GateFailureDetails = {
            instance: input.ref.instance,
            check: describeCheck(input),
            lastResponse,
          };
          // For whoever reads the worker's log: what the instance said before it failed.
          if (info) {
            ctx.log.warn(`health gate failed for ${name}; its last output follows`, {
              container: name,
              logs: await containerLogTail(docker, info.Id),
            });
          }
          throw failure(
            'HEALTH_GATE_FAILED',
            `instance ${input.ref.service}/${input.ref.instance} failed its health gate: ${details.check}, last response ${lastResponse} after ${Math.round(elapsed / 100) / 10}s`,
            details,
          );
        }
        await ctx.sleep(input.health.interval);
      }
    },

    /** Watches a new instance for the bake time: it must keep running (no restart) and stay healthy. */
    async bakeInstance(input: BakeInput): Promise<{ bakedMs: number }> {
      const ctx = Context.current();
      const docker = client(input.ref);
      const name = activeContainerName(input.ref.cloud, input.ref.service, input.ref.instance);
      const resumed = ctx.info.heartbeatDetails as { startedAt: number; restartCount: number } | undefined;
      const first = await inspectOrNull(docker, name);
      const startedAt = resumed?.startedAt ?? Date.now();
      const restartCount = resumed?.restartCount ?? first?.RestartCount ?? 0;
      let failedProbes = 0;
      for (;;) {
        const info = await inspectOrNull(docker, name);
        const elapsed = Date.now() - startedAt;
        let problem: string | undefined;
        if (!info || info.Id !== input.containerId) problem = 'container was replaced or removed';
        else if (!info.State.Running || info.RestartCount !== restartCount) {
          problem = `${exitDescription(info)}, restarted ${info.RestartCount - restartCount} time(s) during bake`;
        } else {
          const probe = await probeHttp(
            healthUrl(input),
            Math.max(500, Math.min(input.health.interval, 5_000)),
          );
          failedProbes = probe.status === input.health.http.expectStatus ? 0 : failedProbes + 1;
          // One lost probe is noise; three in a row is a failing instance.
          if (failedProbes >= 3) problem = `health check failing during bake: ${probe.summary}`;
        }
        if (problem) {
          const details: GateFailureDetails = {
            instance: input.ref.instance,
            check: `bake ${input.bakeMs} ms`,
            lastResponse: problem,
          };
          throw failure(
            'BAKE_FAILED',
            `instance ${input.ref.service}/${input.ref.instance} failed during bake after ${Math.round(elapsed / 100) / 10}s: ${problem}`,
            details,
          );
        }
        if (elapsed >= input.bakeMs) return { bakedMs: elapsed };
        ctx.heartbeat({ startedAt, restartCount });
        await ctx.sleep(Math.min(input.health.interval, Math.max(50, input.bakeMs - elapsed)));
      }
    },

    /** Compensation: puts an instance back as it was before the failed change. */
    async restoreInstance(input: RestoreInput): Promise<RestoreResult> {
      const docker = client(input.ref);
      const name = activeContainerName(input.ref.cloud, input.ref.service, input.ref.instance);
      const active = await inspectOrNull(docker, name);
      if (active && active.Config.Labels[LABEL.revision] !== String(input.revision)) {
        // The old container is already back in place (a retried compensation): make sure it runs.
        await startQuietly(docker, active.Id);
        return { outcome: 'already-restored', containerId: active.Id };
      }
      if (active) await removeQuietly(docker, active.Id);
      const kept = input.retiredName ? await inspectOrNull(docker, input.retiredName) : null;
      if (kept) {
        await docker.getContainer(kept.Id).rename({ name });
        await startQuietly(docker, kept.Id);
        return { outcome: 'kept-container-restarted', containerId: kept.Id };
      }
      if (input.previous) {
        const id = await createContainer(
          docker,
          input.ref,
          input.previous.service,
          input.previous.instance,
          input.previous.revision,
        );
        await prepareAndStart(docker, id, input.previous.service, input.previous.instance);
        return { outcome: 'recreated', containerId: id };
      }
      return { outcome: 'removed', containerId: null };
    },

    /** After the whole change succeeded: the kept old container is no longer needed. */
    async commitInstance(input: CommitInput): Promise<void> {
      const docker = client(input.ref);
      const kept = await inspectOrNull(docker, input.retiredName);
      if (kept) await removeQuietly(docker, kept.Id);
    },
  };
}

export type DockerActivities = ReturnType<typeof createDockerActivities>;
