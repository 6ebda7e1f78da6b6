// docker-compose.yml cannot be started here (no registry), so its wiring is checked by reading it;
// test/composeTopology.it.test.ts compares it with a running cluster (scripts/temporal-cluster.sh).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { TLS_ENV } from '../src/lib/config';
import { SEARCH_ATTRIBUTES } from '../src/workflows/searchAttributes';

const root = path.join(__dirname, '..');
interface ComposeService {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition: string }>;
  entrypoint?: string[];
  healthcheck?: { test: string[] };
}
const composeText = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
// merge: the four Temporal services share their settings through YAML anchors (<<: *temporal-server).
const compose = parse(composeText, { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
const TEMPORAL_SERVICES = ['frontend', 'history', 'matching', 'worker'];

const byImage = (prefix: string): Array<[string, ComposeService]> =>
  Object.entries(services).filter(([, s]) => s.image?.startsWith(prefix));
const oneByImage = (prefix: string): [string, ComposeService] => {
  const found = byImage(prefix);
  if (found.length !== 1) throw new Error(`expected one service running ${prefix}*, found ${found.length}`);
  return found[0] as [string, ComposeService];
};
const condition = (s: ComposeService, on: string): string | undefined =>
  Array.isArray(s.depends_on) ? undefined : s.depends_on?.[on]?.condition;
/** "${POSTGRES_PASSWORD:-x}" -> the variable's name, so both sides can be compared. */
const resolved = (value: string | undefined): string | undefined =>
  value?.replace(/^\$\{(\w+)(:-[^}]*)?\}$/, 'var:$1');
/** The Temporal server services by what they run (TEMPORAL_SERVICES=frontend ...). */
const serverServices = (): Record<string, [string, ComposeService]> =>
  Object.fromEntries(
    byImage('temporalio/server:').map(([name, s]) => [s.environment?.TEMPORAL_SERVICES ?? '', [name, s]]),
  );
const frontend = (): [string, ComposeService] => {
  const found = serverServices().frontend;
  if (!found) throw new Error('no Temporal frontend service');
  return found;
};
/** The repository file a service mounts at the given path in the container. */
const mountedAt = (s: ComposeService, target: string): string | undefined => {
  for (const volume of s.volumes ?? []) {
    const [source, inside] = volume.split(':');
    if (source?.startsWith('.') && inside && (target === inside || target.startsWith(`${inside}/`)))
      return path.join(root, source, target.slice(inside.length));
  }
  return undefined;
};
/** The script a one-shot service runs from the repository. */
const scriptOf = (s: ComposeService): string => {
  const script = s.entrypoint?.find((arg) => arg.endsWith('.sh'));
  const file = script && mountedAt(s, script);
  if (!file) throw new Error(`${s.image}: no mounted script in ${JSON.stringify(s.entrypoint)}`);
  return file;
};

test('every image is pinned to an explicit version', () => {
  for (const [name, s] of Object.entries(services)) {
    if (!s.image) continue;
    expect(`${name}: ${s.image}`).toMatch(/:\d+(\.\d+)+$/);
  }
  expect(byImage('temporalio/auto-setup:')).toEqual([]); // deprecated: setup is the one-shots' job now
});

test('the Temporal server runs as its four services, one container each, of the release the test cluster builds', () => {
  const byService = serverServices();
  expect(Object.keys(byService).sort()).toEqual(TEMPORAL_SERVICES);
  const versions = new Set(byImage('temporalio/').map(([, s]) => s.image?.split(':')[1]));
  versions.delete('2.42.1'); // the Web UI has versions of its own
  const script = readFileSync(path.join(root, 'scripts', 'temporal-cluster.sh'), 'utf8');
  const built = /^VERSION="v([\d.]+)"/m.exec(script)?.[1];
  expect([...versions]).toEqual([built]); // server and admin-tools alike
});

/** The admin-tools one-shot that runs the given script of compose/temporal/. */
const oneShot = (script: string): [string, ComposeService] => {
  const found = byImage('temporalio/admin-tools:').find(([, s]) => path.basename(scriptOf(s)) === script);
  if (!found) throw new Error(`no admin-tools service runs ${script}`);
  return found;
};

test('the schema is set up once PostgreSQL is healthy, with its credentials, by the script the test cluster runs', () => {
  const [pgName, pg] = oneByImage('postgres:');
  const [, setup] = oneShot('setup-schema.sh');
  expect(scriptOf(setup)).toBe(path.join(root, 'compose', 'temporal', 'setup-schema.sh'));
  expect(condition(setup, pgName)).toBe('service_healthy');
  expect(setup.environment?.SQL_HOST).toBe(pgName);
  expect(setup.environment?.SQL_PORT).toBe('5432');
  expect(setup.environment?.SQL_USER).toBe(pg.environment?.POSTGRES_USER);
  expect(resolved(setup.environment?.SQL_PASSWORD)).toBe(resolved(pg.environment?.POSTGRES_PASSWORD));
  // The admin-tools image keeps the server's schema/ folder in /etc/temporal/schema.
  expect(setup.environment?.TEMPORAL_SCHEMA_DIR).toBe('/etc/temporal/schema');
  const script = readFileSync(scriptOf(setup), 'utf8');
  expect(script).toMatch(/postgresql\/v12/);
  expect(script).toMatch(/update-schema -d "\$versioned"/);
  const cluster = readFileSync(path.join(root, 'scripts', 'temporal-cluster.sh'), 'utf8');
  expect(cluster).toContain('sh "$COMPOSE_DIR/setup-schema.sh"');
});

test('the server services use the PostgreSQL service with its credentials, after the schema is set up', () => {
  const [pgName, pg] = oneByImage('postgres:');
  const [setupName] = oneShot('setup-schema.sh');
  for (const [name, s] of Object.values(serverServices())) {
    expect(`${name}: ${condition(s, setupName)}`).toBe(`${name}: service_completed_successfully`);
    expect(s.environment?.DB).toBe('postgres12');
    expect(s.environment?.POSTGRES_SEEDS).toBe(pgName);
    expect(s.environment?.DB_PORT).toBe('5432');
    expect(s.environment?.POSTGRES_USER).toBe(pg.environment?.POSTGRES_USER);
    expect(resolved(s.environment?.POSTGRES_PWD)).toBe(resolved(pg.environment?.POSTGRES_PASSWORD));
  }
});

test('every server service reads the dynamic config file the test cluster reads', () => {
  const shared = path.join(root, 'compose', 'temporal', 'dynamicconfig.yaml');
  expect(existsSync(shared)).toBe(true);
  for (const [name, s] of Object.values(serverServices())) {
    const inside = s.environment?.DYNAMIC_CONFIG_FILE_PATH ?? '';
    expect(`${name}: ${mountedAt(s, inside)}`).toBe(`${name}: ${shared}`);
  }
  const cluster = readFileSync(path.join(root, 'scripts', 'temporal-cluster.sh'), 'utf8');
  expect(cluster).toMatch(/^DYNAMIC_CONFIG="\$COMPOSE_DIR\/dynamicconfig\.yaml"/m);
  expect(cluster).toMatch(/^COMPOSE_DIR="\$ROOT\/compose\/temporal"$/m);
  const config = parse(readFileSync(shared, 'utf8')) as Record<string, Array<{ value: unknown }>>;
  expect(config['system.enableActivityEagerExecution']?.[0]?.value).toBe(true);
});

test('the namespace and the search attributes of src/workflows/searchAttributes.ts are set up once the frontend is healthy', () => {
  const [frontendName, front] = frontend();
  const [, setup] = oneShot('setup-namespace.sh');
  expect(condition(setup, frontendName)).toBe('service_healthy');
  expect(front.healthcheck?.test.join(' ')).toContain(front.environment?.FRONTEND_GRPC_PORT ?? '7233');
  expect(setup.environment?.TEMPORAL_ADDRESS).toBe(
    `${frontendName}:${front.environment?.FRONTEND_GRPC_PORT}`,
  );
  expect(setup.environment?.TEMPORAL_NAMESPACE).toBe('default');
  const attributes = (setup.environment?.PATCHBAY_SEARCH_ATTRIBUTES ?? '')
    .split(/\s+/)
    .map((a) => a.split('='));
  expect(attributes).toEqual(SEARCH_ATTRIBUTES);
});

test('the Web UI and the worker point at the frontend, the worker once the namespace is set up', () => {
  const [frontendName, front] = frontend();
  const address = `${frontendName}:${front.environment?.FRONTEND_GRPC_PORT}`;
  expect(front.environment?.CLUSTER_RPC_ADDRESS).toBe(address);
  expect(front.ports).toContain('7233:7233');
  const [, ui] = oneByImage('temporalio/ui:');
  expect(ui.environment?.TEMPORAL_ADDRESS).toBe(address);
  expect(ui.ports).toContain('8080:8080');
  const worker = Object.values(services).find((s) => s.build) as ComposeService;
  expect(worker.environment?.TEMPORAL_ADDRESS).toBe(address);
  expect(worker.environment?.TEMPORAL_NAMESPACE).toBe(
    oneShot('setup-namespace.sh')[1].environment?.TEMPORAL_NAMESPACE,
  );
  expect(worker.environment?.PATCHBAY_TASK_QUEUE).toBeTruthy();
  expect(condition(worker, oneShot('setup-namespace.sh')[0])).toBe('service_completed_successfully');
  expect(worker.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
});

test("the comments that turn on mTLS name the variables Patchbay's worker reads", () => {
  const workerBlock = composeText.slice(composeText.indexOf('\n  patchbay-worker:'));
  for (const name of [TLS_ENV.ca, TLS_ENV.cert, TLS_ENV.key, TLS_ENV.serverName])
    expect(workerBlock).toMatch(new RegExp(`# mTLS: ${name}: `));
  // The server's side: the image's template variables for a frontend that requires client certificates.
  for (const name of [
    'TEMPORAL_TLS_FRONTEND_CERT',
    'TEMPORAL_TLS_CLIENT1_CA_CERT',
    'TEMPORAL_TLS_REQUIRE_CLIENT_AUTH',
  ])
    expect(composeText).toMatch(new RegExp(`# mTLS: ${name}: `));
});

test('the worker keeps its record store in a database of its own on the same PostgreSQL', () => {
  const [pgName, pg] = oneByImage('postgres:');
  const worker = Object.values(services).find((s) => s.build) as ComposeService;
  expect(condition(worker, pgName)).toBe('service_healthy');
  const url = new URL(
    (worker.environment?.PATCHBAY_DATABASE_URL ?? '').replace(/\$\{POSTGRES_PASSWORD:-[^}]*\}/, 'PASSWORD'),
  );
  expect(url.protocol).toBe('postgres:');
  expect(url.hostname).toBe(pgName);
  expect(url.username).toBe(pg.environment?.POSTGRES_USER);
  expect(url.pathname).toBe('/patchbay');
  expect(worker.environment?.PATCHBAY_DATABASE_URL).toContain('${POSTGRES_PASSWORD:-');
  // The database is created by the image's init scripts from the folder compose mounts.
  const folder = mountedAt(pg, '/docker-entrypoint-initdb.d') ?? '';
  const sql = readdirSync(folder)
    .map((f) => readFileSync(path.join(folder, f), 'utf8'))
    .join('\n');
  expect(sql).toMatch(/CREATE DATABASE patchbay\b/);
});

test("the worker's Dockerfile exists and runs the worker from files it copies", () => {
  const worker = Object.values(services).find((s) => s.build) as ComposeService;
  const build =
    typeof worker.build === 'string'
      ? { context: worker.build }
      : (worker.build as { context: string; dockerfile?: string });
  const dockerfile = path.join(root, build.context, build.dockerfile ?? 'Dockerfile');
  expect(existsSync(dockerfile)).toBe(true);
  const text = readFileSync(dockerfile, 'utf8');
  expect(text).toMatch(/^FROM node:20[\w.-]*$/m);
  expect(text).toMatch(/^CMD \["node", "bin\/patchbay\.js", "worker"\]$/m);
  for (const copied of ['bin', 'src', 'package.json', 'package-lock.json']) {
    expect(text).toMatch(new RegExp(`^COPY .*\\b${copied.replace('.', '\\.')}\\b`, 'm'));
    expect(existsSync(path.join(root, build.context, copied))).toBe(true);
  }
  // tsx runs the sources in the image, so it must be a runtime dependency, not a dev one.
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  expect(pkg.dependencies.tsx).toBeDefined();
});
