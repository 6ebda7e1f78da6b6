// What runs for a cloud on one host, and whether its instances answer their health checks from
// there: what `status` and `plan` show. The worker reads a directly reached host in-process; an
// agent reads its own host (the observeHost activity) — the same function either way.
import type Docker from 'dockerode';
import type { ServiceObservation } from '../activities/types';
import { probeHttp } from './httpProbe';
import { groupByService, listCloudContainers } from './observe';
import { driftedConfigFiles } from './configDelivery';
import { LABEL } from '../record/identity';

/** A health check to run from the host: GET http://<address>:<port><path>, expecting a status. */
export interface HostProbe {
  instance: string;
  port: number;
  path: string;
  expectStatus: number;
}

export interface HostReading {
  /** Per service: its serving and kept containers on this host. */
  services: Record<string, ServiceObservation>;
  /** Per probed instance: "healthy (200 OK)", "unhealthy (…)", "not running". */
  health: Record<string, string>;
  /** Per serving instance whose config files differ from what it was given: "<path> changed". */
  configDrift?: Record<string, string[]>;
}

export async function readHost(
  docker: Docker,
  cloud: string,
  address: string,
  probes: HostProbe[] = [],
): Promise<HostReading> {
  const containers = await listCloudContainers(docker, cloud);
  const services = groupByService(containers);
  const running = new Set(
    [...services.values()].flatMap((o) =>
      Object.values(o.active)
        .filter((a) => a.running)
        .map((a) => a.instance),
    ),
  );
  const health: Record<string, string> = {};
  await Promise.all(
    probes.map(async (p) => {
      if (!running.has(p.instance)) {
        health[p.instance] = 'not running';
        return;
      }
      const probe = await probeHttp(`http://${address}:${p.port}${p.path}`, 2_000);
      health[p.instance] = `${probe.status === p.expectStatus ? 'healthy' : 'unhealthy'} (${probe.summary})`;
    }),
  );
  // Only which paths differ leaves the host, never a file's content (it may hold resolved secrets).
  const configDrift: Record<string, string[]> = {};
  await Promise.all(
    containers
      .filter(
        (c) =>
          c.running && c.configDigest && services.get(c.service)?.active[c.instance]?.containerId === c.id,
      )
      .map(async (c) => {
        const drift = await driftedConfigFiles(docker, c.id, {
          [LABEL.configDigest]: c.configDigest as string,
        });
        if (drift.length > 0) configDrift[c.instance] = drift;
      }),
  );
  return { services: Object.fromEntries(services), health, configDrift };
}
