// Keystone 22 (bookworm) -> 27 (trixie) on the sample cloud, across a schema change: the record the
// upgrade applies. Keystone's migrations run as phases (check, snapshot, expand, contract) with the
// 27 image's patchbay-keystone-db (images/keystone-db), the snapshot with the MariaDB image's own
// client. Upstream supports Zed (22) -> 2023.1 -> 2024.1 -> 2025.1 (27) only: this skip-level jump is
// what Debian's two releases offer, measured here, not a path upstream promises.
import type { CloudRecord, MigrationsSpec, ServiceSpec } from '../record/schema';
import type { Lab } from './openstackLab';

/** The Keystone 27 image (scripts/build-openstack-images.sh tags it also by its Debian version). */
export const KEYSTONE_27 = 'patchbay/keystone:27';
/** Debian's trixie Keystone is 2:27.x: the exact version is whatever the archive had at build time. */
export const KEYSTONE_27_PACKAGE = /^2:27\./;

/** Keystone's migrations on the sample cloud's MariaDB: snapshot into the lab's directory. */
export function keystoneMigrations(lab: Lab, mariadbImage: string): MigrationsSpec {
  const client = ['mariadb', '-h127.0.0.1', `-P${lab.sqlPort}`, '-ukeystone'];
  const asKeystone = { MYSQL_PWD: 'env:OS_KEYSTONE_DB_PASSWORD' };
  const job = (command: string[], timeout = 300_000) => ({ command, env: {}, secretEnv: {}, timeout });
  return {
    database: { service: 'mariadb', name: 'keystone' },
    check: job(['patchbay-keystone-db', 'check'], 120_000),
    snapshot: {
      image: mariadbImage,
      command: [
        ...client.map((a) => (a === 'mariadb' ? 'mariadb-dump' : a)),
        '--single-transaction',
        '--add-drop-database',
        '--databases',
        'keystone',
      ],
      env: {},
      secretEnv: asKeystone,
      timeout: 300_000,
      directory: `${lab.root}/snapshots`,
      keep: 3,
      restore: { command: client },
      // Exact counts: Keystone's tables are small (a big database would read information_schema's estimates).
      rows: {
        command: [
          'sh',
          '-c',
          `for t in $(${client.join(' ')} -N keystone -e 'SHOW TABLES'); do echo "$t $(${client.join(' ')} -N keystone -e "SELECT COUNT(*) FROM $t")"; done`,
        ],
      },
    },
    expand: job(['patchbay-keystone-db', 'expand'], 600_000),
    contract: { ...job(['patchbay-keystone-db', 'contract'], 600_000), approval: 'auto' },
  };
}

/**
 * The sample cloud's record with Keystone on 27 and its migrations. Its db-sync job runs for a new
 * service only: on an upgrade it would expand and contract at once, before a single 27 instance ran.
 */
export function keystoneUpgradeRecord(base: CloudRecord, lab: Lab): CloudRecord {
  const mariadb = base.spec.services.find((s) => s.name === 'mariadb') as ServiceSpec;
  return {
    ...base,
    spec: {
      ...base.spec,
      services: base.spec.services.map((s) =>
        s.name === 'keystone'
          ? {
              ...s,
              image: KEYSTONE_27,
              migrations: keystoneMigrations(lab, mariadb.image),
              jobs: {
                ...s.jobs,
                before: s.jobs.before.map((j) =>
                  j.name === 'db-sync' ? { ...j, on: ['create' as const] } : j,
                ),
              },
            }
          : s,
      ),
    },
  };
}
