// A service's schema migrations as jobs (expand / migrate / contract, and check around them): which
// changes run them, how a phase becomes a job, and what the revision records of it. The rollout runs
// check, expand and migrate before its first instance; the change runs contract once the whole
// revision succeeded (./serviceContract.ts), so no service is reverted onto a contracted schema.
import { ApplicationFailure } from '@temporalio/workflow';
import type { JobCapture, JobResult } from '../activities/types';
import type { MigrationPhase } from '../record/oneOffJobs';
import type { JobSpec, MigrationStepSpec, MigrationsSpec, ServiceSpec, SnapshotSpec } from '../record/schema';
import type { ServiceRuntime } from './runtimes';
import type {
  DatabaseHome,
  MigrationPhaseRecord,
  MigrationReport,
  MigrationStage,
  ServiceAction,
} from './types';

/** Lines of output a phase keeps: enough for alembic's last revisions, small in a history. */
export const MIGRATION_OUTPUT_LINES = 20;

/** The migrations a change runs: only when the image changes (a new service, a patch or upgrade). */
export function migrationsDue(target: ServiceSpec | null, action: ServiceAction): MigrationsSpec | undefined {
  return target?.migrations && (action === 'create' || action === 'patch') ? target.migrations : undefined;
}

export function newMigrationReport(migrations: MigrationsSpec): MigrationReport {
  return {
    database: { ...migrations.database },
    phases: [],
    contract: migrations.contract ? 'pending' : 'none',
  };
}

/** A phase as the job it runs: named after the stage (so its container is too), on no action filter. */
function asJob(stage: Exclude<MigrationStage, 'snapshot' | 'restore'>, step: MigrationStepSpec): JobSpec {
  const { command, image, host, env, secretEnv, timeout } = step;
  return {
    name: `migrate-${stage}`,
    command,
    ...(image !== undefined ? { image } : {}),
    ...(host !== undefined ? { host } : {}),
    env,
    secretEnv,
    timeout,
    on: ['create', 'patch'],
  };
}

function phaseOf(stage: Exclude<MigrationStage, 'snapshot' | 'restore'>): MigrationPhase {
  return stage === 'check-before' || stage === 'check-after' ? 'check' : stage;
}

/** Runs one phase to completion; a check's exit code is its answer, any other phase fails on non-zero. */
export async function runMigrationPhase(
  runtime: ServiceRuntime,
  spec: ServiceSpec,
  stage: Exclude<MigrationStage, 'snapshot' | 'restore'>,
  step: MigrationStepSpec,
): Promise<MigrationPhaseRecord> {
  const phase = phaseOf(stage);
  const began = new Date().toISOString(); // the workflow's clock: replays the same
  const capture: JobCapture = { outputLines: MIGRATION_OUTPUT_LINES, anyExitCode: phase === 'check' };
  const done: JobResult = await runtime.runJob(phase, asJob(stage, step), spec, capture);
  return {
    stage,
    startedAt: done.startedAt ?? began,
    durationMs: done.durationMs,
    exitCode: done.exitCode,
    output: done.output ?? '',
  };
}

/** Lines of a rows job kept: one per table. */
export const ROWS_OUTPUT_LINES = 500;

/** Where a snapshot's dump lies on its host: one file per cloud, service and revision. */
export function snapshotPath(
  snapshot: SnapshotSpec,
  cloud: string,
  service: string,
  revision: number,
): string {
  return `${snapshot.directory.replace(/\/+$/, '')}/${cloud}/${service}-r${revision}.sql`;
}

// The dump goes to a partial file renamed once complete, so a file by its final name is always whole;
// then its checksum and size are printed in a line Patchbay reads, and the snapshots retention
// names are deleted (only after the new one exists). Needs sh and coreutils in the image.
const SNAPSHOT_SCRIPT = [
  'set -eu',
  'f="$PATCHBAY_SNAPSHOT_FILE"',
  'mkdir -p "$(dirname "$f")"',
  'trap \'rm -f "$f.partial"\' EXIT',
  '"$@" > "$f.partial"',
  'mv -f "$f.partial" "$f"',
  'sum=$(sha256sum "$f" | cut -d" " -f1)',
  'size=$(wc -c < "$f" | tr -d " ")',
  'for old in ${PATCHBAY_SNAPSHOT_PRUNE:-}; do rm -f -- "$old"; done',
  'echo "patchbay-snapshot sha256=$sum bytes=$size"',
].join('\n');

// A restore loads only a file that is there and matches its checksum: a wrong or damaged dump stops
// it before the database is dropped.
const RESTORE_SCRIPT = [
  'set -eu',
  'f="$PATCHBAY_SNAPSHOT_FILE"',
  '[ -f "$f" ] || { echo "snapshot $f is not on this host" >&2; exit 66; }',
  'echo "$PATCHBAY_SNAPSHOT_SHA256  $f" | sha256sum -c - > /dev/null 2>&1 || { echo "snapshot $f does not match its checksum $PATCHBAY_SNAPSHOT_SHA256" >&2; exit 65; }',
  '"$@" < "$f"',
  'echo "patchbay-restore loaded $f"',
].join('\n');

/** The host of a snapshot placed by the runtime (no hosts in the record): a node it picks. */
export const RUNTIME_PLACED = '';

/** The host a service's snapshot runs on: the record's, the database's, or the service's first. */
export function snapshotHost(
  spec: ServiceSpec,
  snapshot: SnapshotSpec,
  home: DatabaseHome | undefined,
): string {
  return snapshot.host ?? home?.host ?? spec.instances[0]?.host ?? RUNTIME_PLACED;
}

/** Where the snapshot's containers run and what they mount, as a spec the runtime's runJob takes. */
function snapshotHome(
  spec: ServiceSpec,
  snapshot: SnapshotSpec,
  home: DatabaseHome | undefined,
): ServiceSpec {
  return {
    ...spec,
    image: snapshot.image ?? home?.image ?? spec.image,
    config: {},
    volumes: [{ source: snapshot.directory, target: snapshot.directory, readOnly: false }],
  };
}

function snapshotJob(
  name: string,
  snapshot: SnapshotSpec,
  home: DatabaseHome | undefined,
  command: string[],
  env: Record<string, string>,
): JobSpec {
  const host = snapshot.host ?? home?.host;
  return {
    name,
    command,
    ...(host !== undefined ? { host } : {}),
    env: { ...snapshot.env, ...env },
    secretEnv: snapshot.secretEnv,
    timeout: snapshot.timeout,
    on: ['create', 'patch', 'update'],
  };
}

/** Reads the line the snapshot script ends with; null when the dump did not get that far. */
export function parseSnapshotLine(output: string): { sha256: string; bytes: number } | null {
  const m = /patchbay-snapshot sha256=([0-9a-f]{64}) bytes=(\d+)/.exec(output);
  return m ? { sha256: m[1] as string, bytes: Number(m[2]) } : null;
}

/** "<table> <rows>" lines (tabs or spaces); anything else (a header, a warning) is ignored. */
export function parseRowCounts(output: string): Record<string, number> {
  const rows: Record<string, number> = {};
  for (const line of output.split('\n')) {
    const m = /^\s*([A-Za-z0-9_$.-]+)\s+(\d+)\s*$/.exec(line);
    if (m) rows[m[1] as string] = Number(m[2]);
  }
  return rows;
}

export interface SnapshotRun {
  job: JobResult;
  sha256: string;
  bytes: number;
  path: string;
  host: string;
}

/** A snapshot's job and where it runs (a spec the runtime's runJob takes): what takeSnapshot runs. */
export function snapshotJobPlan(
  spec: ServiceSpec,
  at: { cloud: string; service: string; revision: number; home?: DatabaseHome },
  snapshot: SnapshotSpec,
  prune: string[],
): { job: JobSpec; spec: ServiceSpec; path: string } {
  const path = snapshotPath(snapshot, at.cloud, at.service, at.revision);
  const job = snapshotJob(
    'migrate-snapshot',
    snapshot,
    at.home,
    ['sh', '-c', SNAPSHOT_SCRIPT, 'patchbay-snapshot', ...snapshot.command],
    { PATCHBAY_SNAPSHOT_FILE: path, PATCHBAY_SNAPSHOT_PRUNE: prune.join(' ') },
  );
  return { job, spec: snapshotHome(spec, snapshot, at.home), path };
}

/** Takes the dump; deletes `prune` (paths on the same host) once it is whole. */
export async function takeSnapshot(
  runtime: ServiceRuntime,
  spec: ServiceSpec,
  at: { cloud: string; service: string; revision: number; home?: DatabaseHome },
  snapshot: SnapshotSpec,
  prune: string[],
): Promise<SnapshotRun> {
  const { job, spec: home, path } = snapshotJobPlan(spec, at, snapshot, prune);
  const done = await runtime.runJob('snapshot', job, home, { outputLines: MIGRATION_OUTPUT_LINES });
  const line = parseSnapshotLine(done.output ?? '');
  if (!line)
    throw ApplicationFailure.create({
      type: 'JOB_FAILED',
      message: `snapshot of ${at.service}'s database printed no checksum (the image needs sh, sha256sum and wc); output:\n${done.output ?? ''}`,
      nonRetryable: true,
    });
  return { job: done, ...line, path, host: snapshotHost(spec, snapshot, at.home) };
}

/** Counts rows per table with the record's `rows` command (run where the snapshot runs). */
export async function countRows(
  runtime: ServiceRuntime,
  spec: ServiceSpec,
  home: DatabaseHome | undefined,
  snapshot: SnapshotSpec,
): Promise<Record<string, number> | undefined> {
  if (!snapshot.rows) return undefined;
  const job = snapshotJob('migrate-rows', snapshot, home, snapshot.rows.command, {});
  const done = await runtime.runJob('rows', job, snapshotHome(spec, snapshot, home), {
    outputLines: ROWS_OUTPUT_LINES,
  });
  return parseRowCounts(done.output ?? '');
}

/** A restore's job and where it runs: what restoreSnapshot runs. */
export function restoreJobPlan(
  spec: ServiceSpec,
  home: DatabaseHome | undefined,
  snapshot: SnapshotSpec,
  taken: { path: string; sha256: string; host: string },
): { job: JobSpec; spec: ServiceSpec } {
  const job = snapshotJob(
    'migrate-restore',
    { ...snapshot, host: taken.host === RUNTIME_PLACED ? undefined : taken.host },
    home,
    ['sh', '-c', RESTORE_SCRIPT, 'patchbay-restore', ...snapshot.restore.command],
    { PATCHBAY_SNAPSHOT_FILE: taken.path, PATCHBAY_SNAPSHOT_SHA256: taken.sha256 },
  );
  return { job, spec: snapshotHome(spec, snapshot, home) };
}

/** Loads a snapshot with the record's restore command, after checking the file against its checksum. */
export async function restoreSnapshot(
  runtime: ServiceRuntime,
  spec: ServiceSpec,
  home: DatabaseHome | undefined,
  snapshot: SnapshotSpec,
  taken: { path: string; sha256: string; host: string },
): Promise<JobResult> {
  const plan = restoreJobPlan(spec, home, snapshot, taken);
  return runtime.runJob('restore', plan.job, plan.spec, { outputLines: MIGRATION_OUTPUT_LINES });
}
