// What the non-destructive promise is judged on (container id and start time, per container) and
// what a container really runs (the Debian package version inside it).
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { LABEL } from '../record/identity';

export interface ContainerSnapshot {
  name: string;
  id: string;
  startedAt: string;
  running: boolean;
  image: string;
  service: string;
  revision: string;
}

/** Every container of a cloud, by name. */
export async function cloudSnapshot(docker: Docker, cloud: string): Promise<Map<string, ContainerSnapshot>> {
  const out = new Map<string, ContainerSnapshot>();
  for (const c of await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL.cloud}=${cloud}`] },
  })) {
    const info = await docker.getContainer(c.Id).inspect();
    const name = info.Name.replace(/^\//, '');
    out.set(name, {
      name,
      id: info.Id,
      startedAt: info.State.StartedAt,
      running: info.State.Running,
      image: info.Config.Image,
      service: info.Config.Labels[LABEL.service] ?? '',
      revision: info.Config.Labels[LABEL.revision] ?? '',
    });
  }
  return out;
}

/** Containers of `before` (restricted to `services`) whose id or start time differs in `after`, or that are gone. */
export function changedContainers(
  before: Map<string, ContainerSnapshot>,
  after: Map<string, ContainerSnapshot>,
  services: string[],
): { compared: number; changed: string[] } {
  const compared = [...before.values()].filter((c) => services.includes(c.service));
  const changed = compared
    .filter((c) => {
      const now = after.get(c.name);
      return !now || now.id !== c.id || now.startedAt !== c.startedAt;
    })
    .map((c) => c.name);
  return { compared: compared.length, changed };
}

/** Runs a command in a running container and returns its stdout (throws with stderr on a non-zero exit). */
export async function execIn(docker: Docker, container: string, cmd: string[]): Promise<string> {
  const exec = await docker
    .getContainer(container)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  docker.modem.demuxStream(stream, stdout, stderr);
  await new Promise<void>((resolve, reject) => {
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`${cmd.join(' ')} in ${container} exited ${ExitCode}: ${err.trim()}`);
  return out;
}

/** The installed version of a Debian package inside a container (dpkg-query). */
export async function debianPackageVersion(docker: Docker, container: string, pkg: string): Promise<string> {
  return (await execIn(docker, container, ['dpkg-query', '-W', '-f=${Version}', pkg])).trim();
}
