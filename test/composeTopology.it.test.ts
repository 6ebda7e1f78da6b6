// docker-compose.yml against a running cluster. This machine cannot start compose (no registry), but
// scripts/temporal-cluster.sh runs the same Temporal release the same way: its four services as
// processes of their own, the same two setup scripts, the same dynamic config file, a frontend behind
// mTLS. Each test reads what compose declares and checks it against what actually ran.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { parse } from 'yaml';
import { PROJECT_ROOT, TEMPORAL_BIN } from '../src/lib/config';
import { SEARCH_ATTRIBUTES } from '../src/workflows/searchAttributes';
import { type ClusterInfo, type TemporalCluster, startTemporalCluster } from './support/temporalCluster';

interface ComposeService {
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  entrypoint?: string[];
  ports?: string[];
}
interface ServerConfig {
  persistence: { datastores: Record<string, { sql: { databaseName: string } }> };
  clusterMetadata: { currentClusterName: string; clusterInformation: Record<string, { rpcAddress: string }> };
  dynamicConfigClient: { filepath: string };
  global: { tls: { frontend: { server: { requireClientAuth: boolean } } } };
}

const composeText = readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8');
const services = (parse(composeText, { merge: true }) as { services: Record<string, ComposeService> })
  .services;
const entries = Object.entries(services);
/** The Temporal server containers by the service they run (TEMPORAL_SERVICES). */
const servers = new Map(
  entries
    .filter(([, s]) => s.image?.startsWith('temporalio/server:'))
    .map(([name, s]) => [s.environment?.TEMPORAL_SERVICES ?? '', { name, ...s }]),
);
const serverEnv = (service: string): Record<string, string> => servers.get(service)?.environment ?? {};
/** The repository file a service mounts at the given path in its container. */
const mountedAt = (s: ComposeService, target: string): string | undefined => {
  for (const volume of s.volumes ?? []) {
    const [source, inside] = volume.split(':');
    if (source?.startsWith('.') && inside && (target === inside || target.startsWith(`${inside}/`)))
      return path.join(PROJECT_ROOT, source, target.slice(inside.length));
  }
  return undefined;
};
/** The admin-tools one-shot that runs compose/temporal/<script>. */
const oneShot = (script: string): ComposeService => {
  const found = entries.find(
    ([, s]) =>
      s.image?.startsWith('temporalio/admin-tools:') &&
      s.entrypoint?.some((arg) => arg.endsWith(`/${script}`) && mountedAt(s, arg)?.endsWith(script)),
  );
  if (!found) throw new Error(`no admin-tools service runs ${script}`);
  return found[1];
};
const version = (image: string | undefined): string => image?.split(':')[1] ?? '';
/** "1.19" > "1.9": compared as numbers, part by part. */
const newer = (a: string, b: string): boolean => {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++)
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return false;
};

let cluster: TemporalCluster;
let info: ClusterInfo;
let config: ServerConfig;
/** The temporal CLI against the cluster, over mTLS unless told otherwise. */
const temporal = (args: string[], tls: 'mtls' | 'no-client-cert' = 'mtls'): string =>
  execFileSync(
    TEMPORAL_BIN,
    [
      ...args,
      '--address',
      info.address,
      '--tls-ca-path',
      info.tls.ca,
      '--tls-server-name',
      info.tls.serverName,
      ...(tls === 'mtls' ? ['--tls-cert-path', info.tls.cert, '--tls-key-path', info.tls.key] : []),
      '--command-timeout',
      '10s',
    ],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    },
  );
async function query<T>(database: string, sql: string): Promise<T[]> {
  const client = new Client({
    host: '127.0.0.1',
    port: info.postgres.port,
    user: info.postgres.user,
    database,
  });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

beforeAll(() => {
  cluster = startTemporalCluster();
  info = cluster.info();
  config = parse(readFileSync(info.config, 'utf8')) as ServerConfig;
}, 240_000);

afterAll(() => cluster?.stop(), 60_000);

test('the same Temporal services run, one process each, of the release compose pins', () => {
  expect([...servers.keys()].sort()).toEqual(Object.keys(info.services).sort());
  for (const [name, { pid }] of Object.entries(info.services)) {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(path.basename(realpathSync(`/proc/${pid}/exe`))).toBe('temporal-server');
    expect(argv).toEqual(expect.arrayContaining(['--config-file', info.config, 'start', '--service', name]));
    expect(argv.filter((a) => a === '--service')).toHaveLength(1);
  }
  const release = version(servers.get('frontend')?.image);
  expect(`v${release}`).toBe(info.build.version);
  expect(version(oneShot('setup-schema.sh').image)).toBe(release);
  expect(version(oneShot('setup-namespace.sh').image)).toBe(release);
  const binary = readFileSync(`/proc/${info.services.frontend.pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
  expect(execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim()).toBe(
    `temporal version ${release}`,
  );
});

test('the same databases, at the schema version the compose setup applies from the same release', async () => {
  // What compose uses: the names the server image and the setup script default to, unless set.
  const named = (env: Record<string, string> | undefined) => [
    env?.DBNAME ?? 'temporal',
    env?.VISIBILITY_DBNAME ?? 'temporal_visibility',
  ];
  const setup = oneShot('setup-schema.sh');
  for (const service of servers.keys()) expect(named(serverEnv(service))).toEqual(named(setup.environment));
  const expected = named(setup.environment);
  // What ran: the databases on the cluster's PostgreSQL, and the ones its config names.
  const databases = await query<{ datname: string }>(
    'postgres',
    "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY datname",
  );
  expect(databases.map((d) => d.datname)).toEqual([...expected].sort());
  expect(info.postgres.databases).toEqual(expected);
  expect(Object.values(config.persistence.datastores).map((d) => d.sql.databaseName)).toEqual(expected);
  // compose's setup applies /etc/temporal/schema/postgresql/v12/*/versioned of the admin-tools image of
  // this release: the server module's schema/ folder, which the build copied.
  expect(setup.environment?.TEMPORAL_SCHEMA_DIR).toBe('/etc/temporal/schema');
  for (const [database, kind] of [
    [expected[0], 'temporal'],
    [expected[1], 'visibility'],
  ] as const) {
    const versioned = path.join(info.build.schemaDir, 'postgresql', 'v12', kind, 'versioned');
    const newest = readdirSync(versioned)
      .map(
        (v) =>
          (
            JSON.parse(readFileSync(path.join(versioned, v, 'manifest.json'), 'utf8')) as {
              CurrVersion: string;
            }
          ).CurrVersion,
      )
      .reduce((a, b) => (newer(b, a) ? b : a));
    const [row] = await query<{ curr_version: string }>(
      database ?? '',
      'SELECT curr_version FROM schema_version',
    );
    expect(`${database}: ${row?.curr_version}`).toBe(`${database}: ${newest}`);
  }
});

test('the same dynamic config file, which the running servers read', () => {
  const read = config.dynamicConfigClient.filepath;
  expect(read).toBe(info.dynamicConfig);
  for (const service of servers.keys()) {
    const inside = serverEnv(service).DYNAMIC_CONFIG_FILE_PATH ?? '';
    const mounted = mountedAt(servers.get(service) as ComposeService, inside) ?? '';
    expect(readFileSync(mounted, 'utf8')).toBe(readFileSync(read, 'utf8'));
  }
  // Every key in it reached the servers (they log each value they load).
  const keys = Object.keys(parse(readFileSync(read, 'utf8')) as Record<string, unknown>);
  expect(keys).toContain('system.enableActivityEagerExecution');
  for (const service of Object.values(info.services)) {
    const log = readFileSync(service.log, 'utf8');
    for (const key of keys)
      expect(log).toContain(`dynamic config changed for the key: ${key.toLowerCase()} `);
  }
});

test("the search attributes compose registers are the running namespace's, with its retention", () => {
  const setup = oneShot('setup-namespace.sh');
  const declared = (setup.environment?.PATCHBAY_SEARCH_ATTRIBUTES ?? '')
    .split(/\s+/)
    .map((a) => a.split('='));
  expect(declared).toEqual(SEARCH_ATTRIBUTES);
  expect(setup.environment?.TEMPORAL_NAMESPACE).toBe(info.namespace);
  const listed = JSON.parse(
    temporal(['operator', 'search-attribute', 'list', '--namespace', info.namespace, '--output', 'json']),
  ) as { customAttributes: Record<string, string> };
  expect(listed.customAttributes).toEqual(
    Object.fromEntries(declared.map(([name, type]) => [name, `INDEXED_VALUE_TYPE_${type?.toUpperCase()}`])),
  );
  const described = JSON.parse(
    temporal(['operator', 'namespace', 'describe', '--namespace', info.namespace, '--output', 'json']),
  ) as { config: { workflowExecutionRetentionTtl: string } };
  const hours = Number(/^(\d+)h$/.exec(setup.environment?.TEMPORAL_NAMESPACE_RETENTION ?? '')?.[1]);
  expect(described.config.workflowExecutionRetentionTtl).toBe(`${hours * 3600}s`);
});

test('the worker is pointed at the frontend port, which requires a client certificate', () => {
  // compose: the worker, the UI and the cluster's own rpcAddress name the frontend service's gRPC port.
  const frontend = servers.get('frontend');
  const address = `${frontend?.name}:${frontend?.environment?.FRONTEND_GRPC_PORT}`;
  const worker = entries.find(([name]) => name === 'patchbay-worker')?.[1];
  expect(worker?.environment?.TEMPORAL_ADDRESS).toBe(address);
  expect(frontend?.environment?.CLUSTER_RPC_ADDRESS).toBe(address);
  expect(frontend?.ports).toContain(
    `${frontend?.environment?.FRONTEND_GRPC_PORT}:${frontend?.environment?.FRONTEND_GRPC_PORT}`,
  );
  expect(composeText).toContain(`# mTLS: TEMPORAL_TLS_SERVER_NAME: ${info.tls.serverName}`);
  // What ran: the address Patchbay is given is the port the frontend process listens on, and the
  // cluster's rpcAddress.
  expect(cluster.env.TEMPORAL_ADDRESS).toBe(`127.0.0.1:${info.services.frontend.grpcPort}`);
  expect(readFileSync(info.env, 'utf8')).toContain(`TEMPORAL_ADDRESS=${cluster.env.TEMPORAL_ADDRESS} `);
  const listener = execFileSync('ss', ['-ltnpH', `sport = :${info.services.frontend.grpcPort}`], {
    encoding: 'utf8',
  });
  expect(listener).toContain(`pid=${info.services.frontend.pid},`);
  const current = config.clusterMetadata.clusterInformation[config.clusterMetadata.currentClusterName];
  expect(current?.rpcAddress).toBe(cluster.env.TEMPORAL_ADDRESS);
  // mTLS: with the client certificate the frontend serves; without one the handshake is refused. In
  // TLS 1.3 the client's side of the handshake is done before the server refuses, so the CLI reports
  // either the server's alert or the connection it closed under the first write (seen in a cold run).
  expect(config.global.tls.frontend.server.requireClientAuth).toBe(true);
  expect(temporal(['operator', 'cluster', 'health'])).toContain('SERVING');
  expect(() => temporal(['operator', 'cluster', 'health'], 'no-client-cert')).toThrow(
    /certificate required|broken pipe|connection reset by peer/,
  );
});

test("every variable compose gives the server containers is one the image's config template reads", () => {
  const template = readFileSync(info.build.configTemplate, 'utf8');
  const given = new Set(
    [...servers.keys()]
      .flatMap((service) => Object.keys(serverEnv(service)))
      .filter((v) => v !== 'TEMPORAL_SERVICES'),
  );
  // ...and the ones the comments in their shared environment give for mTLS.
  const shared = composeText.slice(
    composeText.indexOf('\nx-temporal-environment:'),
    composeText.indexOf('\nservices:'),
  );
  for (const [, name] of shared.matchAll(/# mTLS: (TEMPORAL_\w+): /g)) given.add(name ?? '');
  expect(given.size).toBeGreaterThan(10);
  for (const name of given) expect(`${name}: ${template.includes(`env "${name}"`)}`).toBe(`${name}: true`);
  // TEMPORAL_SERVICES is read by `temporal-server start` itself (its --service flag).
  const binary = readFileSync(`/proc/${info.services.frontend.pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
  expect(execFileSync(binary, ['start', '--help'], { encoding: 'utf8' })).toMatch(
    /--service value.*\[\$TEMPORAL_SERVICES\]/,
  );
});
