// One-off job containers (db_sync and friends). Idempotent: the container is named after the cloud,
// service, job and revision, so a retry after a worker crash waits for the run already under way
// (or reads its exit code) instead of starting a second one.
import { Context } from '@temporalio/activity';
import type Docker from 'dockerode';
import { LABEL } from '../record/identity';
import type { DockerHostSpec } from '../record/schema';
import { failure } from '../lib/failures';
import { containerLogTail } from '../runtime/containerLogs';
import { dockerStatus, inspectOrNull } from '../runtime/dockerClient';
import { renderTemplate } from '../record/template';
import { maskSecrets, resolveSecretEnv } from '../runtime/secrets';
import { renderConfigFiles, type RenderedConfigFile } from '../record/configFiles';
import { deliverConfigFiles, resolveConfigFiles } from '../runtime/configDelivery';
import type { JobInput, JobResult } from './types';

export function jobContainerName(cloud: string, service: string, job: string, revision: number): string {
  return `pb-${cloud}-${service}-job-${job}-r${revision}`;
}

export function createJobActivities(deps: {
  docker: (host: DockerHostSpec) => Docker;
  extraLabels?: Record<string, string>;
}) {
  return {
    async runJob(input: JobInput): Promise<JobResult> {
      const ctx = Context.current();
      const docker = deps.docker(input.host);
      const name = jobContainerName(input.cloud, input.service, input.job.name, input.revision);
      const image = input.job.image ?? input.image;
      let info = await inspectOrNull(docker, name);
      let files: RenderedConfigFile[];
      try {
        files = resolveConfigFiles(
          renderConfigFiles({ config: input.config ?? {} }, { service: input.service }),
        );
      } catch (error) {
        throw failure('PREFLIGHT_FAILED', (error as Error).message);
      }
      if (!info) {
        let secrets: Record<string, string>;
        try {
          secrets = resolveSecretEnv(input.job.secretEnv);
        } catch (error) {
          throw failure('PREFLIGHT_FAILED', (error as Error).message);
        }
        try {
          await docker.createContainer({
            name,
            Image: image,
            Cmd: input.job.command.map((part) => renderTemplate(part, { service: input.service })),
            Env: [
              ...Object.entries(input.job.env).map(([k, v]) => [
                k,
                renderTemplate(v, { service: input.service }),
              ]),
              ...Object.entries(secrets),
            ].map(([k, v]) => `${k}=${v}`),
            Tty: true, // plain log text, no stream multiplexing
            Labels: {
              ...deps.extraLabels,
              [LABEL.managed]: 'true',
              [LABEL.cloud]: input.cloud,
              [LABEL.service]: input.service,
              [LABEL.revision]: String(input.revision),
              [LABEL.job]: input.job.name,
            },
            HostConfig: {
              NetworkMode: 'host',
              Init: true,
              Binds: input.volumes.map((v) => `${v.source}:${v.target}${v.readOnly ? ':ro' : ''}`),
            },
          });
        } catch (error) {
          if (dockerStatus(error) === 404) {
            throw failure(
              'PREFLIGHT_FAILED',
              `job ${input.job.name}: image ${image} is not present on host ${input.host.name}`,
            );
          }
          if (dockerStatus(error) !== 409) throw error; // 409: a previous attempt created it
        }
        info = await docker.getContainer(name).inspect();
      }
      if (!info.State.Running && !info.State.FinishedAt.startsWith('0001')) {
        // Already ran (a retry after the worker died while waiting): read the outcome.
      } else if (!info.State.Running) {
        // Never started: its config files go in first (again, if a retry finds it half made).
        await deliverConfigFiles(docker, info.Id, files);
        await docker.getContainer(info.Id).start();
      }
      const started = Date.parse(info.Created);
      for (;;) {
        info = await docker.getContainer(name).inspect();
        if (!info.State.Running) break;
        if (Date.now() - started > input.job.timeout) {
          await docker
            .getContainer(info.Id)
            .kill()
            .catch(() => undefined);
          const tail = await containerLogTail(docker, info.Id, 15);
          await docker.getContainer(info.Id).remove({ force: true });
          throw failure(
            'JOB_FAILED',
            `job ${input.job.name} of ${input.service} did not finish within ${input.job.timeout} ms; last output:\n${tail}`,
          );
        }
        ctx.heartbeat({ running: true });
        await ctx.sleep(250);
      }
      const exitCode = info.State.ExitCode;
      const durationMs = Date.parse(info.State.FinishedAt) - Date.parse(info.State.StartedAt);
      const capture = input.capture;
      // The log tail goes into the failure (and so the revision's reason); the container itself goes.
      const tail =
        exitCode === 0 && !capture
          ? ''
          : maskSecrets(
              // A TTY ends its lines with CRLF: plain lines in the reason and the revision.
              (await containerLogTail(docker, info.Id, capture?.outputLines ?? 15)).replace(/\r\n/g, '\n'),
              input.job.secretEnv,
            );
      await docker.getContainer(info.Id).remove({ force: true });
      if (capture && (exitCode === 0 || capture.anyExitCode))
        return {
          job: input.job.name,
          phase: input.phase,
          exitCode,
          durationMs,
          startedAt: info.State.StartedAt,
          output: tail,
        };
      if (exitCode !== 0) {
        throw failure(
          'JOB_FAILED',
          `job ${input.job.name} of ${input.service} failed with exit code ${exitCode}; last output:\n${tail}`,
          { job: input.job.name, exitCode },
        );
      }
      return { job: input.job.name, phase: input.phase, exitCode, durationMs };
    },
  };
}
