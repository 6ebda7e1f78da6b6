// The sample OpenStack cloud spread over three hosts reached through agents (issue 15): MariaDB and
// HAProxy on the first host, Keystone ×3 on the other two (two and one), HAProxy fronting them
// across hosts and driven from its own host. Built from openstackLab() (same images, passwords and
// folders; Glance and Placement are left out to keep the lab's engines small). The hosts share this
// machine's file system, so the Fernet keys are one folder, as a shared mount would be.
import { CloudRecordSchema, type CloudRecord } from '../record/schema';
import type { Lab } from './openstackLab';

export interface LabHostAddress {
  name: string;
  address: string;
  /** The host's engine as its agent reaches it (unix:///…). */
  endpoint: string;
}

export interface MultiHostOpenstack {
  record: CloudRecord;
  /** HAProxy's front door for Keystone, on the first host's address. */
  keystoneUrl: string;
  /** What the agents resolve the record's secret references from (database URLs point at host 1). */
  secretEnv: Record<string, string>;
  /** The images the lab's engines need. */
  images: string[];
}

export function multiHostOpenstack(lab: Lab, hosts: LabHostAddress[]): MultiHostOpenstack {
  const [db, a, b] = hosts;
  if (!db || !a || !b) throw new Error('the multi-host sample cloud needs three hosts');
  const base = lab.record;
  const service = (name: string) => {
    const found = base.spec.services.find((s) => s.name === name);
    if (!found) throw new Error(`examples/openstack.yaml has no ${name}`);
    return structuredClone(found);
  };
  const mariadb = service('mariadb');
  const keystone = service('keystone');
  const haproxy = service('haproxy');
  const sqlPort = mariadb.env.MARIADB_PORT as string;
  // Every service listens on its host's interfaces: the others reach it across the bridge.
  mariadb.env.MARIADB_BIND_HOST = '0.0.0.0';
  mariadb.instances = mariadb.instances.map((i) => ({ ...i, host: db.name }));
  keystone.env.KEYSTONE_BIND_HOST = '0.0.0.0';
  // Keystone's database is on the first host: its keystone.conf (and its jobs') says so, as the
  // example's override file for this lab does (examples/config/overrides/3hosts/keystone.conf).
  const keystoneConf = keystone.config?.['/etc/keystone/keystone.conf'];
  if (keystoneConf)
    keystoneConf.content = keystoneConf.content.replace(
      `@127.0.0.1:${sqlPort}/`,
      `@${db.address}:${sqlPort}/`,
    );
  const placed = [a, a, b];
  keystone.instances = keystone.instances.map((i, k) => ({ ...i, host: (placed[k] as LabHostAddress).name }));
  haproxy.env.HAPROXY_BIND_HOST = '0.0.0.0';
  haproxy.env.HAPROXY_SERVERS = keystone.instances
    .map((i, k) => `${i.lb?.server}=${(placed[k] as LabHostAddress).address}:${i.port}`)
    .join(' ');
  haproxy.instances = haproxy.instances.map((i) => ({ ...i, host: db.name }));
  const record = CloudRecordSchema.parse({
    ...base,
    spec: {
      ...base.spec,
      runtime: {
        docker: {
          hosts: hosts.map((h) => ({
            name: h.name,
            address: h.address,
            endpoint: h.endpoint,
            reach: 'agent',
            pickupTimeout: 30_000,
          })),
        },
      },
      loadBalancers: base.spec.loadBalancers.map((lb) => ({
        ...lb,
        haproxy: { ...lb.haproxy, host: db.name },
      })),
      services: [mariadb, keystone, haproxy],
    },
  });
  const front = Number(haproxy.instances[0]?.port);
  const secretEnv = Object.fromEntries(
    Object.entries(lab.secretEnv).map(([k, v]) => [
      k,
      v.replace(`@127.0.0.1:${sqlPort}/`, `@${db.address}:${sqlPort}/`),
    ]),
  );
  return {
    record,
    keystoneUrl: `http://${db.address}:${front}`,
    secretEnv,
    images: [mariadb.image, keystone.image, haproxy.image],
  };
}
