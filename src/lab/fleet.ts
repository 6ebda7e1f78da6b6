// A fleet of small real OpenStack clouds on this machine, labelled like a real fleet (region, tier):
// each MariaDB, Keystone x2 (sharing their Fernet keys) and HAProxy, from the sample cloud
// (examples/openstack.yaml, Debian's packages) without Glance and Placement. Every cloud has its own
// name, ports, state folder and passwords (its env: references carry the cloud's name, so one worker
// resolves every cloud's secrets). Most run the vulnerable Keystone; the last `fixed` run the fix
// already, so a campaign chosen by inventory has something to leave out. Used by
// `patchbay demo --fleet`, the fleet end-to-end test and `bench:campaign --openstack`.
import path from 'node:path';
import type { PatchbayClient } from '../client/patchbayClient';
import { CloudRecordSchema, type CloudRecord } from '../record/schema';
import { waitForKeystone } from './keystone';
import { KEYSTONE, openstackLab } from './openstackLab';

/** Regions the clouds are named after, in name order (the first one, by name, is the canary). */
const REGIONS = [
  'ap-south',
  'eu-west',
  'us-east',
  'eu-central',
  'us-west',
  'ap-east',
  'sa-east',
  'ca-central',
  'eu-north',
  'af-south',
  'me-central',
  'ap-north',
];
/** Each cloud's ports: the example's (15000..15307) + portBase + PORT_STEP x its index. */
const PORT_STEP = 400;
const DROPPED = ['glance', 'placement'];

export interface FleetOptions {
  /** How many clouds (default 3). */
  count?: number;
  /** Prefixed to every cloud's name (the test's clouds never meet the demo's). */
  prefix?: string;
  /** Each cloud's state lives in root/<cloud> (volumes, HAProxy's socket, generated passwords). */
  root: string;
  /** Added to the example's ports for the first cloud (each next one: + 400). */
  portBase: number;
  /** How many clouds (the last by name) already run the fixed build (default: 1 from 3 clouds on, else 0). */
  fixed?: number;
  /** Keystone's per-instance bake during a rollout (default 3s). */
  keystoneBake?: string;
}

export interface FleetCloud {
  name: string;
  region: string;
  tier: 'staging' | 'prod';
  root: string;
  /** The record it is deployed with (Keystone at `image`). */
  record: CloudRecord;
  image: string;
  /** HAProxy's front door for Keystone. */
  keystoneUrl: string;
  /** HAProxy's Runtime API socket (for the time an instance is out of service). */
  haproxySocket: string;
  adminPassword: string;
  /** The environment the worker needs for this cloud's secret references (names carry the cloud's). */
  secretEnv: Record<string, string>;
}

/** env:OS_X -> env:OS_<CLOUD>_X, and the same for the variable names. */
function envPrefix(cloud: string): string {
  return `OS_${cloud.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`;
}

function cloudNames(count: number, prefix: string): Array<{ name: string; region: string }> {
  return Array.from({ length: count }, (_, i) => {
    const region = REGIONS[i % REGIONS.length]!;
    return { name: `${prefix}${region}-${Math.floor(i / REGIONS.length) + 1}`, region };
  }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The fleet's clouds, in name order (the order a campaign launches them in). */
export function fleetClouds(options: FleetOptions): FleetCloud[] {
  const count = options.count ?? 3;
  const fixed = options.fixed ?? (count >= 3 ? 1 : 0);
  return cloudNames(count, options.prefix ?? '').map(({ name, region }, i) => {
    const root = path.join(options.root, name);
    const lab = openstackLab({ name, root, portShift: options.portBase + PORT_STEP * i });
    const env = envPrefix(name);
    const input = JSON.parse(JSON.stringify(lab.record).replaceAll('env:OS_', `env:${env}`)) as {
      metadata: { labels?: Record<string, string> };
      spec: { services: Array<Record<string, unknown>> };
    };
    const tier = i === 0 ? 'staging' : 'prod';
    const image = i >= count - fixed ? KEYSTONE.fixed : KEYSTONE.old;
    input.metadata.labels = { fleet: 'keystone', region, tier };
    input.spec.services = input.spec.services
      .filter((s) => !DROPPED.includes(s.name as string))
      .map((s) => {
        const env = (s.env ?? {}) as Record<string, string>;
        if (s.name === 'mariadb') {
          const secretEnv = s.secretEnv as Record<string, string>;
          return {
            ...s,
            env: { ...env, MARIADB_DATABASES: 'keystone:keystone:KEYSTONE_DB_PASSWORD' },
            secretEnv: {
              MARIADB_ROOT_PASSWORD: secretEnv.MARIADB_ROOT_PASSWORD!,
              KEYSTONE_DB_PASSWORD: secretEnv.KEYSTONE_DB_PASSWORD!,
            },
          };
        }
        if (s.name === 'keystone')
          return {
            ...s,
            image,
            instances: (s.instances as unknown[]).slice(0, 2),
            // A slow start on a busy machine is not a failure; a broken build still fails within
            // seconds (the gate's failure threshold).
            health: { ...(s.health as object), timeout: '180s' },
            upgrade: { ...(s.upgrade as object), bake: options.keystoneBake ?? '3s' },
          };
        if (s.name === 'haproxy')
          return {
            ...s,
            env: { ...env, HAPROXY_SERVERS: env.HAPROXY_SERVERS!.split(' ').slice(0, 2).join(' ') },
          };
        return s;
      });
    return {
      name,
      region,
      tier,
      root,
      record: CloudRecordSchema.parse(input),
      image,
      keystoneUrl: lab.keystoneUrl,
      haproxySocket: path.join(root, 'haproxy', 'admin.sock'),
      adminPassword: lab.adminPassword,
      secretEnv: Object.fromEntries(
        Object.entries(lab.secretEnv).map(([k, v]) => [k.replace(/^OS_/, env), v]),
      ),
    };
  });
}

/** Every cloud's secrets, for the worker's environment. */
export function fleetSecretEnv(clouds: FleetCloud[]): Record<string, string> {
  return Object.assign({}, ...clouds.map((c) => c.secretEnv)) as Record<string, string>;
}

export interface FleetDeployment {
  cloud: string;
  revision: number;
  outcome: string;
  reason?: string;
  seconds: number;
}

/**
 * Applies every cloud's record (at most `parallel` at once) and waits until each Keystone answers
 * through its HAProxy. A cloud that runs it already is left as it is (no change).
 */
export async function deployFleet(
  client: PatchbayClient,
  clouds: FleetCloud[],
  options: { author: string; parallel?: number; say?: (line: string) => void },
): Promise<FleetDeployment[]> {
  const say = options.say ?? (() => undefined);
  const out: FleetDeployment[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(options.parallel ?? clouds.length, clouds.length) }, async () => {
      while (next < clouds.length) {
        const cloud = clouds[next++]!;
        const t0 = Date.now();
        const accepted = await client.apply(cloud.record, {
          message: `fleet: ${cloud.name} (${cloud.region}, ${cloud.tier}) with ${cloud.image}`,
          author: options.author,
        });
        const result = await client.waitForChange(cloud.name, accepted);
        if (result.outcome === 'applied') await waitForKeystone(cloud.keystoneUrl, 120_000);
        const seconds = (Date.now() - t0) / 1000;
        out.push({
          cloud: cloud.name,
          revision: result.revision,
          outcome: result.outcome,
          reason: result.reason,
          seconds,
        });
        say(
          `  ${cloud.name.padEnd(22)} ${`${cloud.region}/${cloud.tier}`.padEnd(20)} revision ${result.revision} ${result.outcome} in ${seconds.toFixed(1)} s; Keystone ${cloud.image.split(':')[1]} at ${cloud.keystoneUrl}`,
        );
      }
    }),
  );
  return out.sort((a, b) => (a.cloud < b.cloud ? -1 : 1));
}
