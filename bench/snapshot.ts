// npm run bench:snapshot [-- --rows N] — a database's snapshot and restore as Patchbay runs them
// (src/workflows/migrations.ts: a job container in the database's image through the worker's runJob
// activity; the dump written to a partial file, renamed, hashed and sized; the restore checks the
// checksum, then loads), for the sample cloud's databases (Keystone, Glance and Placement after their
// db_sync, the sample cloud deployed by Patchbay) and a bulk one of N rows (default 1,000,000 x ~200
// bytes). Beside each, in the same run, the baseline: the same mariadb-dump and load with `docker exec`
// in the database's own container (no job container, no checksum). Median of 3 of each; the ratio is
// Patchbay's time over the baseline's.
import { rmSync } from 'node:fs';
import { MockActivityEnvironment } from '@temporalio/testing';
import type Docker from 'dockerode';
import { createJobActivities } from '../src/activities/jobActivities';
import type { JobResult } from '../src/activities/types';
import { execIn } from '../src/lab/containers';
import { openstackLab, type Lab } from '../src/lab/openstackLab';
import type { DockerHostSpec, ServiceSpec, SnapshotSpec } from '../src/record/schema';
import { dockerClient, dockerForHost } from '../src/runtime/dockerClient';
import { listCloudContainers } from '../src/runtime/observe';
import { parseSnapshotLine, restoreJobPlan, snapshotJobPlan } from '../src/workflows/migrations';
import { removeCloud, startBenchStack } from './stack';

const docker: Docker = dockerClient('unix:///var/run/docker.sock');
const RUNS = 3;
const argRows = process.argv.indexOf('--rows');
const BULK_ROWS = argRows > 0 ? Number(process.argv[argRows + 1]) : 1_000_000;

interface Figures {
  database: string;
  bytes: number;
  snapshotS: number;
  dumpS: number;
  restoreS: number;
  loadS: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const value = await fn();
  return [value, (performance.now() - t0) / 1000];
};

async function bench(lab: Lab): Promise<Figures[]> {
  const mariadb = lab.record.spec.services.find((s) => s.name === 'mariadb') as ServiceSpec;
  const host = lab.record.spec.runtime.docker.hosts.find(
    (h) => h.name === mariadb.instances[0]?.host,
  ) as DockerHostSpec;
  const db = (await listCloudContainers(docker, lab.name, 'mariadb')).find((c) => c.running);
  if (!db) throw new Error('the sample cloud has no running MariaDB');
  const sql = (statement: string) => execIn(docker, db.id, ['mariadb', '-N', '-e', statement]);
  console.log(`bulk database: ${BULK_ROWS.toLocaleString('en-US')} rows of ~200 bytes`);
  await sql(
    `DROP DATABASE IF EXISTS bulk; CREATE DATABASE bulk; CREATE TABLE bulk.t (id int PRIMARY KEY, payload varchar(200)); USE bulk; INSERT INTO t SELECT seq, REPEAT(MD5(seq), 6) FROM seq_1_to_${BULK_ROWS}`,
  );
  const client = ['mariadb', '-h127.0.0.1', `-P${lab.sqlPort}`, '-uroot'];
  const dumpArgs = (name: string) => ['--single-transaction', '--add-drop-database', '--databases', name];
  const jobs = createJobActivities({ docker: dockerForHost });
  const run = (input: Parameters<typeof jobs.runJob>[0]): Promise<JobResult> =>
    new MockActivityEnvironment().run(jobs.runJob, input);
  const figures: Figures[] = [];
  let revision = 0;
  for (const name of ['keystone', 'glance', 'placement', 'bulk']) {
    const snapshot: SnapshotSpec = {
      command: [client[0]!.replace('mariadb', 'mariadb-dump'), ...client.slice(1), ...dumpArgs(name)],
      env: {},
      secretEnv: { MYSQL_PWD: 'env:OS_DB_ROOT_PASSWORD' },
      timeout: 1_800_000,
      directory: `${lab.root}/snapshots`,
      keep: 3,
      restore: { command: client },
    };
    const home = { image: mariadb.image, host: host.name };
    const sample: Figures[] = [];
    for (let i = 0; i < RUNS; i++) {
      revision++;
      const at = { cloud: lab.name, service: name, revision, home };
      const plan = snapshotJobPlan(mariadb, at, snapshot, []);
      const input = (job: typeof plan.job, spec: ServiceSpec, phase: 'snapshot' | 'restore') => ({
        cloud: lab.name,
        service: name,
        revision,
        phase,
        job,
        image: spec.image,
        host,
        volumes: spec.volumes,
        capture: { outputLines: 20 },
      });
      const [taken, snapshotS] = await timed(() => run(input(plan.job, plan.spec, 'snapshot')));
      const line = parseSnapshotLine(taken.output ?? '');
      if (!line) throw new Error(`snapshot of ${name} printed no checksum: ${taken.output}`);
      const [, dumpS] = await timed(() =>
        execIn(docker, db.id, [
          'sh',
          '-c',
          `mariadb-dump ${dumpArgs(name).join(' ')} > /tmp/bench-${name}.sql`,
        ]),
      );
      const restore = restoreJobPlan(mariadb, home, snapshot, {
        path: plan.path,
        sha256: line.sha256,
        host: host.name,
      });
      const [, restoreS] = await timed(() => run(input(restore.job, restore.spec, 'restore')));
      const [, loadS] = await timed(() =>
        execIn(docker, db.id, ['sh', '-c', `mariadb < /tmp/bench-${name}.sql && rm /tmp/bench-${name}.sql`]),
      );
      sample.push({ database: name, bytes: line.bytes, snapshotS, dumpS, restoreS, loadS });
      rmSync(plan.path, { force: true });
    }
    figures.push({
      database: name,
      bytes: median(sample.map((s) => s.bytes)),
      snapshotS: median(sample.map((s) => s.snapshotS)),
      dumpS: median(sample.map((s) => s.dumpS)),
      restoreS: median(sample.map((s) => s.restoreS)),
      loadS: median(sample.map((s) => s.loadS)),
    });
  }
  return figures;
}

async function main(): Promise<void> {
  const lab = openstackLab({ name: 'os-bench-snap', root: '/var/tmp/patchbay-bench-snap', portShift: 6000 });
  // The worker (in this process) and the bench's jobs resolve the record's secret references from here.
  Object.assign(process.env, lab.secretEnv);
  await removeCloud(docker, lab.name);
  const stack = await startBenchStack(17955, 'bench-snap');
  let figures: Figures[];
  try {
    const deployed = await stack.client.waitForChange(
      lab.name,
      await stack.client.apply(lab.record, { message: 'deploy', author: 'bench' }),
    );
    if (deployed.outcome !== 'applied') throw new Error(`deploy: ${deployed.outcome} ${deployed.reason}`);
    figures = await bench(lab);
  } finally {
    await stack.stop();
    await removeCloud(docker, lab.name);
    rmSync(lab.root, { recursive: true, force: true });
  }
  console.log(
    `snapshot and restore of the sample cloud's databases (MariaDB ${lab.record.spec.services[0]?.image}), median of ${RUNS}:`,
  );
  console.log(
    `  ${'database'.padEnd(10)} ${'dump size'.padStart(12)}  ${'snapshot'.padStart(9)} ${'baseline'.padStart(9)} ${'ratio'.padStart(6)}  ${'restore'.padStart(9)} ${'baseline'.padStart(9)} ${'ratio'.padStart(6)}`,
  );
  for (const f of figures)
    console.log(
      `  ${f.database.padEnd(10)} ${`${f.bytes.toLocaleString('en-US')} B`.padStart(12)}  ${`${f.snapshotS.toFixed(2)} s`.padStart(9)} ${`${f.dumpS.toFixed(2)} s`.padStart(9)} ${f.snapshotS / f.dumpS >= 10 ? (f.snapshotS / f.dumpS).toFixed(0).padStart(6) : (f.snapshotS / f.dumpS).toFixed(2).padStart(6)}  ${`${f.restoreS.toFixed(2)} s`.padStart(9)} ${`${f.loadS.toFixed(2)} s`.padStart(9)} ${(f.restoreS / f.loadS).toFixed(2).padStart(6)}`,
    );
  console.log(
    "  snapshot/restore: Patchbay's job container (create, start, wait, read its log, remove) with checksum and size; baseline: the same mariadb-dump / load by `docker exec` in the database container",
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
