// The sample OpenStack cloud (examples/openstack.yaml, with its config files from examples/config/)
// made ready to run: placed under a state directory of its own, optionally renamed and moved to other
// ports (so the end-to-end test never meets the demo's cloud), with generated passwords kept beside
// its database files.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { PROJECT_ROOT } from '../lib/config';
import { PatchbayError } from '../lib/errors';
import { readConfigSources } from '../record/configSources';
import { CloudRecordSchema, type CloudRecord } from '../record/schema';

export const OPENSTACK_EXAMPLE = path.join(PROJECT_ROOT, 'examples', 'openstack.yaml');
/** What the example says, and what labRecord() rewrites. */
const EXAMPLE_NAME = 'os-lab';
const EXAMPLE_ROOT = '/var/lib/patchbay/os-lab';
const EXAMPLE_PORTS = /\b15\d{3}\b/g;

export const KEYSTONE = {
  old: 'patchbay/keystone:22.0.2-0-deb12u3',
  fixed: 'patchbay/keystone:22.0.2-0-deb12u6',
  broken: 'patchbay/keystone:22.0.2-0-deb12u6-broken',
  oldPackage: '2:22.0.2-0+deb12u3',
  fixedPackage: '2:22.0.2-0+deb12u6',
};

interface ConfigSource {
  content?: string;
  overrides?: Array<{ content?: string }>;
}

export interface LabOptions {
  /** Cloud name (default: the example's, os-lab). */
  name?: string;
  /** Where volumes, the HAProxy socket and the passwords live (default: the example's). */
  root?: string;
  /** Added to every port of the example (default 0). */
  portShift?: number;
  /** Keystone's bake per instance instead of the example's 5 s (the tests: 1 s, to fit their budget). */
  keystoneBakeMs?: number;
}

export interface Lab {
  name: string;
  root: string;
  record: CloudRecord;
  /** HAProxy's front door for Keystone. */
  keystoneUrl: string;
  /** The environment the worker needs to resolve the record's secret references. */
  secretEnv: Record<string, string>;
  /** The admin password bootstrap gave Keystone. */
  adminPassword: string;
  /** MariaDB's port on 127.0.0.1 (the example's 15306, shifted). */
  sqlPort: number;
}

function secrets(root: string): Record<string, string> {
  const file = path.join(root, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  // New passwords would not open a database made with others.
  const mysql = path.join(root, 'mysql');
  if (existsSync(mysql) && readdirSync(mysql).length > 0)
    throw new PatchbayError(
      'INVALID_INPUT',
      `${mysql} holds a database but ${file} (its passwords) is missing: remove ${root} (and the cloud's containers) to start afresh`,
    );
  const made = Object.fromEntries(
    ['db-root', 'keystone-db', 'glance-db', 'placement-db', 'admin'].map((k) => [
      k,
      randomBytes(12).toString('hex'),
    ]),
  );
  mkdirSync(root, { recursive: true });
  writeFileSync(file, JSON.stringify(made, null, 2), { mode: 0o600 });
  return made;
}

export function openstackLab(options: LabOptions = {}): Lab {
  const name = options.name ?? EXAMPLE_NAME;
  const root = options.root ?? EXAMPLE_ROOT;
  const shift = options.portShift ?? 0;
  const relocate = (text: string) =>
    text.replaceAll(EXAMPLE_ROOT, root).replace(EXAMPLE_PORTS, (port) => String(Number(port) + shift));
  const doc = parseDocument(relocate(readFileSync(OPENSTACK_EXAMPLE, 'utf8')));
  doc.setIn(['metadata', 'name'], name);
  const input = doc.toJS() as { spec: { services: Array<{ config?: Record<string, ConfigSource> }> } };
  // The config files as the CLI reads them (from: next to the example), moved the same way: the
  // database port in each file, Glance's listen port.
  const unreadable = readConfigSources(input, path.dirname(OPENSTACK_EXAMPLE));
  if (unreadable.length > 0)
    throw new PatchbayError('INVALID_INPUT', unreadable.map((i) => `${i.path}: ${i.message}`).join('; '));
  for (const service of input.spec.services)
    for (const file of Object.values(service.config ?? {}))
      for (const text of [file, ...(file.overrides ?? [])]) text.content = relocate(text.content ?? '');
  const record = CloudRecordSchema.parse(input);
  const keystone = record.spec.services.find((s) => s.name === 'keystone');
  if (keystone && options.keystoneBakeMs !== undefined) keystone.upgrade.bake = options.keystoneBakeMs;
  const pw = secrets(root);
  const sql = 15306 + shift;
  const url = (user: string, password: string) =>
    `mysql+pymysql://${user}:${password}@127.0.0.1:${sql}/${user}`;
  return {
    name,
    root,
    record,
    keystoneUrl: `http://127.0.0.1:${15000 + shift}`,
    adminPassword: pw.admin!,
    sqlPort: sql,
    secretEnv: {
      OS_DB_ROOT_PASSWORD: pw['db-root']!,
      OS_KEYSTONE_DB_PASSWORD: pw['keystone-db']!,
      OS_GLANCE_DB_PASSWORD: pw['glance-db']!,
      OS_PLACEMENT_DB_PASSWORD: pw['placement-db']!,
      OS_ADMIN_PASSWORD: pw.admin!,
      OS_KEYSTONE_DB_URL: url('keystone', pw['keystone-db']!),
      OS_GLANCE_DB_URL: url('glance', pw['glance-db']!),
      OS_PLACEMENT_DB_URL: url('placement', pw['placement-db']!),
    },
  };
}
