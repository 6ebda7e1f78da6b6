// docker-compose.yml cannot be started here (no registry), so its wiring is checked by reading it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const root = path.join(__dirname, '..');
interface ComposeService {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition: string }>;
}
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;
const byImage = (prefix: string): [string, ComposeService] => {
  const found = Object.entries(services).find(([, s]) => s.image?.startsWith(prefix));
  if (!found) throw new Error(`no service runs an image ${prefix}*`);
  return found;
};
const dependsOn = (s: ComposeService): string[] =>
  Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
/** "${POSTGRES_PASSWORD:-x}" -> the variable's name, so both sides can be compared. */
const resolved = (value: string | undefined): string | undefined =>
  value?.replace(/^\$\{(\w+)(:-[^}]*)?\}$/, 'var:$1');

test('every image is pinned to an explicit version', () => {
  for (const [name, s] of Object.entries(services)) {
    if (!s.image) continue;
    expect(`${name}: ${s.image}`).toMatch(/:\d+(\.\d+)+$/);
  }
});

test('Temporal runs on the PostgreSQL service with its credentials', () => {
  const [pgName, pg] = byImage('postgres:');
  const [, temporal] = byImage('temporalio/auto-setup:');
  expect(dependsOn(temporal)).toContain(pgName);
  expect(temporal.environment?.DB).toMatch(/^postgres/);
  expect(temporal.environment?.POSTGRES_SEEDS).toBe(pgName);
  expect(temporal.environment?.POSTGRES_USER).toBe(pg.environment?.POSTGRES_USER);
  expect(resolved(temporal.environment?.POSTGRES_PWD)).toBe(resolved(pg.environment?.POSTGRES_PASSWORD));
  expect(temporal.environment?.DB_PORT).toBe('5432');
  expect(temporal.ports).toContain('7233:7233');
});

test('the Web UI and the worker point at the Temporal service', () => {
  const [temporalName] = byImage('temporalio/auto-setup:');
  const [, ui] = byImage('temporalio/ui:');
  expect(ui.environment?.TEMPORAL_ADDRESS).toBe(`${temporalName}:7233`);
  expect(ui.ports).toContain('8080:8080');
  const worker = Object.values(services).find((s) => s.build);
  expect(worker?.environment?.TEMPORAL_ADDRESS).toBe(`${temporalName}:7233`);
  expect(worker?.environment?.PATCHBAY_TASK_QUEUE).toBeTruthy();
  expect(dependsOn(worker as ComposeService)).toContain(temporalName);
  expect(worker?.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
});

test('the worker keeps its record store in a database of its own on the same PostgreSQL', () => {
  const [pgName, pg] = byImage('postgres:');
  const worker = Object.values(services).find((s) => s.build) as ComposeService;
  expect(dependsOn(worker)).toContain(pgName);
  const url = new URL(
    (worker.environment?.PATCHBAY_DATABASE_URL ?? '').replace(/\$\{POSTGRES_PASSWORD:-[^}]*\}/, 'PASSWORD'),
  );
  expect(url.protocol).toBe('postgres:');
  expect(url.hostname).toBe(pgName);
  expect(url.username).toBe(pg.environment?.POSTGRES_USER);
  expect(url.pathname).toBe('/patchbay');
  expect(worker.environment?.PATCHBAY_DATABASE_URL).toContain('${POSTGRES_PASSWORD:-');
  // The database is created by the image's init scripts from the folder compose mounts.
  const init = (pg.volumes ?? []).find((v) => v.endsWith(':/docker-entrypoint-initdb.d:ro'));
  const folder = path.join(root, (init ?? '').split(':')[0] ?? '');
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
