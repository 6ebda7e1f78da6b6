// One dockerode client per Docker endpoint named in a record (unix socket or tcp).
import Docker from 'dockerode';
import type { DockerHostSpec } from '../record/schema';

const clients = new Map<string, Docker>();

/** Default per-call timeout: a hung engine must fail an activity, not stall it forever. */
const API_TIMEOUT_MS = 30_000;

export function dockerClient(endpoint: string): Docker {
  let client = clients.get(endpoint);
  if (!client) {
    if (endpoint.startsWith('unix://')) {
      client = new Docker({ socketPath: endpoint.slice('unix://'.length), timeout: API_TIMEOUT_MS });
    } else {
      const url = new URL(endpoint.replace(/^tcp:/, 'http:'));
      client = new Docker({
        host: url.hostname,
        port: Number(url.port),
        protocol: 'http',
        timeout: API_TIMEOUT_MS,
      });
    }
    clients.set(endpoint, client);
  }
  return client;
}

export function dockerForHost(host: DockerHostSpec): Docker {
  return dockerClient(host.endpoint);
}

/** dockerode errors carry the HTTP status of the engine's answer. */
export function dockerStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Pings an engine with a short timeout; returns the reason it is unreachable, or undefined. */
export async function unreachableReason(
  host: DockerHostSpec,
  timeoutMs = 5_000,
): Promise<string | undefined> {
  try {
    await Promise.race([
      dockerForHost(host).ping(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** A container by name or id, or null when it does not exist. */
export async function inspectOrNull(
  docker: Docker,
  name: string,
): Promise<Docker.ContainerInspectInfo | null> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (error) {
    if (dockerStatus(error) === 404) return null;
    throw error;
  }
}
