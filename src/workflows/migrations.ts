// A service's schema migrations as jobs (expand / migrate / contract, and check around them): which
// changes run them, how a phase becomes a job, and what the revision records of it. The rollout runs
// check, expand and migrate before its first instance; the change runs contract once the whole
// revision succeeded (./serviceContract.ts), so no service is reverted onto a contracted schema.
import type { JobCapture, JobResult } from '../activities/types';
import type { MigrationPhase } from '../record/oneOffJobs';
import type { JobSpec, MigrationStepSpec, MigrationsSpec, ServiceSpec } from '../record/schema';
import type { ServiceRuntime } from './runtimes';
import type { MigrationPhaseRecord, MigrationReport, MigrationStage, ServiceAction } from './types';

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
function asJob(stage: MigrationStage, step: MigrationStepSpec): JobSpec {
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

function phaseOf(stage: MigrationStage): MigrationPhase {
  return stage === 'check-before' || stage === 'check-after' ? 'check' : stage;
}

/** Runs one phase to completion; a check's exit code is its answer, any other phase fails on non-zero. */
export async function runMigrationPhase(
  runtime: ServiceRuntime,
  spec: ServiceSpec,
  stage: MigrationStage,
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
