// One service's part of a revision, on any runtime: replace every unit that does not match the
// record, maxUnavailable at a time, each drained, health-gated and baked; remove the units no
// longer in the record; on failure, compensate. What a unit is (a container, a whole deployment)
// and how each step is done is the runtime's (./runtimes/strategy.ts).
import { setHandler } from '@temporalio/workflow';
import type { JobResult, LbTarget } from '../activities/types';
import { imageVersion } from '../record/identity';
import type { InstanceSpec, JobSpec, MigrationsSpec, ServiceSpec, SnapshotSpec } from '../record/schema';
import { RECORD_SCHEMA_REVISION } from '../record/schemaRevision';
import { failureMessage } from './failures';
import { serviceProgressQuery } from './messages';
import {
  BAKE_DURATION,
  HEALTH_GATE_DURATION,
  ROLLBACKS,
  ROLLOUT_DURATION,
  count,
  observe,
  outOfServiceGauge,
  stopwatch,
  type OutOfServiceGauge,
} from './metrics';
import { installOperatorGate } from './operatorGate';
import { serviceRuntime, type CompensationStep, type RolloutUnit } from './runtimes';
import { commit, unwind } from './saga';
import { recordSchema } from './schemas';
import {
  countRows,
  migrationsDue,
  newMigrationReport,
  restoreSnapshot,
  runMigrationPhase,
  snapshotHost,
  takeSnapshot,
} from './migrations';
import { recording } from './activityProxies';
import { balancerActivities, lbTargetOf } from './traffic';
import type {
  InstancePhase,
  MigrationReport,
  RestoreReport,
  ServiceProgress,
  SnapshotReport,
  ServiceResult,
  ServiceRolloutInput,
} from './types';

const nowIso = (): string => new Date().toISOString();

export async function serviceRolloutWorkflow(raw: ServiceRolloutInput): Promise<ServiceResult> {
  // Metrics only (./metrics.ts: no commands). The wrapper's extra await comes after the last
  // command the rollout issues; nothing else runs then that could issue one in between.
  const { cloud, service } = raw;
  const elapsed = stopwatch();
  const outOfService = outOfServiceGauge(cloud, service);
  try {
    const result = await rollout(raw, outOfService);
    if (result.action !== 'unchanged')
      observe(ROLLOUT_DURATION, { cloud, service, outcome: result.status }, elapsed());
    return result;
  } catch (error) {
    observe(ROLLOUT_DURATION, { cloud, service, outcome: 'failed' }, elapsed());
    throw error;
  } finally {
    outOfService.clear();
  }
}

/** Phases that take a unit out of service, and those that say it serves again (or is gone). */
const TAKEN: ReadonlySet<InstancePhase> = new Set(['draining', 'retiring', 'rolling-back']);
const BACK: ReadonlySet<InstancePhase> = new Set(['baking', 'done', 'rolled-back', 'removed']);

async function rollout(raw: ServiceRolloutInput, outOfService: OutOfServiceGauge): Promise<ServiceResult> {
  // Inputs recorded by older versions lack newer fields: the schema fills their defaults. Specs the
  // change normalised with this schema revision need no parse (and this workflow no zod).
  const normalise = (spec: ServiceSpec): ServiceSpec =>
    raw.recordSchema === RECORD_SCHEMA_REVISION ? spec : recordSchema().Service.parse(spec);
  const input: ServiceRolloutInput = {
    ...raw,
    target: raw.target && normalise(raw.target),
    previous: raw.previous && normalise(raw.previous),
    loadBalancers: raw.loadBalancers ?? [],
  };
  const { revision, service, target, previous } = input;
  const gate = installOperatorGate(nowIso);
  const progress: ServiceProgress = { service, action: 'planning', instances: [], blocked: null };
  setHandler(serviceProgressQuery, () => ({ ...progress, blocked: gate.block }));

  const report = (instance: string, phase: InstancePhase, detail?: string): void => {
    if (TAKEN.has(phase)) outOfService.take(instance);
    else if (BACK.has(phase)) outOfService.back(instance);
    const entry = progress.instances.find((i) => i.instance === instance);
    if (entry) {
      entry.phase = phase;
      entry.detail = detail;
    } else progress.instances.push({ instance, phase, detail });
  };
  const runtime = serviceRuntime(input);
  /** The HAProxy server that fronts an instance, if the record says one does. */
  const lbOf = (instance: InstanceSpec | null): LbTarget | null =>
    lbTargetOf(instance, input.loadBalancers, input.hosts);
  const drain = async (lb: LbTarget | null, id: string): Promise<void> => {
    if (!lb) return;
    report(id, 'draining', `${lb.backend}/${lb.server}`);
    await balancerActivities(input.cloud, lb).watching(lb.drainTimeoutMs).lbDrain(lb);
  };
  const jobs: JobResult[] = [];

  const plan = await runtime.observe();
  const { action } = plan;
  progress.action = action;
  // Made before the first phase, so a failure in any of them is in the result too.
  // A rollback puts older code back: its migrations have nothing to do on the newer schema.
  const migrating = input.rollback ? undefined : migrationsDue(target, action);
  const migrationReport = migrating && newMigrationReport(migrating);

  const result = (
    status: ServiceResult['status'],
    steps: CompensationStep[],
    reason?: string,
  ): ServiceResult => ({
    service,
    action,
    status,
    fromVersion: previous ? imageVersion(previous.image) : null,
    toVersion: target ? imageVersion(target.image) : null,
    instances: progress.instances.map((i) => ({ ...i })),
    reason,
    steps,
    jobs,
    // A revision that did not succeed never reaches its contract.
    ...(migrationReport && {
      migrations:
        status === 'succeeded' || migrationReport.contract !== 'pending'
          ? migrationReport
          : { ...migrationReport, contract: 'not-run' as const },
    }),
  });
  if (action === 'unchanged') return result('unchanged', []);

  const database = migrating && `${migrating.database.service}/${migrating.database.name}`;
  /** The dump before expand: what a rollback past this revision's contract would restore. */
  const snapshotBefore = async (spec: ServiceSpec, snapshot: SnapshotSpec, into: MigrationReport) => {
    const label = 'migrations snapshot';
    report(label, 'starting', database);
    const beyond = await recording.storeSnapshotsBeyondRetention({
      cloud: input.cloud,
      service,
      revision,
      keep: snapshot.keep,
    });
    const home = { cloud: input.cloud, service, revision, home: input.database };
    const host = snapshotHost(spec, snapshot, input.database);
    // Only files on the host the job runs on can go; others stay listed until a snapshot runs there.
    const prune = beyond.filter((s) => s.host === host);
    const taken = await takeSnapshot(
      runtime,
      spec,
      home,
      snapshot,
      prune.map((s) => s.path),
    );
    const rows = await countRows(runtime, spec, input.database, snapshot);
    const startedAt = taken.job.startedAt ?? nowIso();
    const recorded: SnapshotReport = {
      host: taken.host,
      path: taken.path,
      sha256: taken.sha256,
      bytes: taken.bytes,
      durationMs: taken.job.durationMs,
      takenAt: startedAt,
      ...(rows && { rows }),
    };
    const pruned = prune.map((s) => s.revision);
    await recording.storeSnapshotTaken({
      snapshot: {
        ...recorded,
        cloud: input.cloud,
        service,
        revision,
        database: { ...(migrating as MigrationsSpec).database },
      },
      pruned,
    });
    into.phases.push({
      stage: 'snapshot',
      startedAt,
      durationMs: taken.job.durationMs,
      exitCode: taken.job.exitCode,
      output: taken.job.output ?? '',
    });
    into.snapshot = { ...recorded, ...(pruned.length > 0 && { pruned }) };
    report(
      label,
      'done',
      `${taken.bytes} bytes in ${taken.job.durationMs} ms, sha256 ${taken.sha256.slice(0, 12)}`,
    );
  };

  /** Check, snapshot, expand and migrate, in that order, before any instance: old code runs on the expanded schema. */
  const migrateBefore = async (spec: ServiceSpec): Promise<void> => {
    if (!migrating || !migrationReport) return;
    for (const stage of ['check-before', 'snapshot', 'expand', 'migrate'] as const) {
      if (stage === 'snapshot') {
        if (migrating.snapshot) await snapshotBefore(spec, migrating.snapshot, migrationReport);
        continue;
      }
      const step = migrating[stage === 'check-before' ? 'check' : stage];
      if (!step) continue;
      const label = `migrations ${stage}`;
      report(label, 'starting', database);
      const done = await runMigrationPhase(runtime, spec, stage, step);
      migrationReport.phases.push(done);
      report(label, 'done', `exit ${done.exitCode} after ${done.durationMs} ms`);
    }
  };

  /** Runs the service's before/after jobs that apply to this kind of change, one at a time. */
  const runJobs = async (phase: 'before' | 'after', spec: ServiceSpec): Promise<void> => {
    const due = spec.jobs[phase].filter((j: JobSpec) => (j.on as string[]).includes(action));
    for (const job of due) {
      const label = `job ${job.name}`;
      report(label, 'starting', phase);
      const done = await runtime.runJob(phase, job, spec);
      jobs.push(done);
      report(label, 'done', `${phase}, exit ${done.exitCode}`);
    }
  };
  if (target) {
    try {
      await migrateBefore(target);
      // A restore runs them on the restored database (older code's db-sync fails on a newer schema).
      if (input.restoreFrom === undefined) await runJobs('before', target);
    } catch (error) {
      // Nothing has been touched yet: the change stops here.
      return result('failed', [], `${failureMessage(error)} (${runtime.untouched})`);
    }
  }

  for (const unit of plan.replace) report(unit.id, 'pending');
  for (const unit of plan.remove) report(unit.id, 'pending', 'not in the record any more');

  const steps: CompensationStep[] = [];
  /** Takes a unit out of service (drained, stopped and kept where the runtime keeps it). */
  const retireOne = async (
    unit: RolloutUnit,
    spec: ServiceSpec,
  ): Promise<{ lb: LbTarget | null; step: CompensationStep }> => {
    // Only a serving unit is drained and re-enabled; a new one comes up as HAProxy's config says.
    const lb = unit.retireFirst ? lbOf(unit.instance) : null;
    // Recorded before acting, so a failure halfway through retiring is compensated too.
    const step = runtime.compensation(unit, lb);
    steps.push(step);
    await drain(lb, unit.id);
    if (unit.retireFirst) {
      report(unit.id, 'retiring');
      await runtime.retire(unit, spec);
    }
    return { lb, step };
  };
  const replaceOne = async (unit: RolloutUnit, spec: ServiceSpec): Promise<void> => {
    const { lb, step } = await retireOne(unit, spec);
    await startOne(unit, spec, lb, step);
  };
  /** Starts a unit's replacement and waits until it serves: health gate, balancer, bake. */
  const startOne = async (
    unit: RolloutUnit,
    spec: ServiceSpec,
    lb: LbTarget | null,
    step: CompensationStep,
  ): Promise<void> => {
    report(unit.id, 'starting', runtime.describeStart(spec));
    const started = await runtime.start(unit, spec, step);
    report(unit.id, 'health-gate', started.detail);
    // Timed in place (no wrapper, no extra await): units of a batch run concurrently.
    const gating = stopwatch();
    let healthy: string;
    try {
      healthy = await runtime.waitHealthy(unit, spec, started);
    } catch (error) {
      observe(HEALTH_GATE_DURATION, { cloud: input.cloud, service, result: 'failed' }, gating());
      throw error;
    }
    observe(HEALTH_GATE_DURATION, { cloud: input.cloud, service, result: 'passed' }, gating());
    if (lb) {
      report(unit.id, 'enabling', `${lb.backend}/${lb.server}`);
      await balancerActivities(input.cloud, lb)
        .watching(spec.health.timeout)
        .lbEnable({ ...lb, upTimeoutMs: spec.health.timeout });
    }
    if (runtime.bake && spec.upgrade.bake > 0) {
      report(unit.id, 'baking', healthy);
      const baking = stopwatch();
      try {
        await runtime.bake(unit, spec, started);
      } catch (error) {
        observe(BAKE_DURATION, { cloud: input.cloud, service, result: 'failed' }, baking());
        throw error;
      }
      observe(BAKE_DURATION, { cloud: input.cloud, service, result: 'passed' }, baking());
    }
    report(unit.id, 'done', healthy);
  };

  /**
   * A rollback across a contract (--restore-database): every unit stopped (undoable: kept), the
   * database loaded from the snapshot taken before the contracting revision's expand, then the old
   * units started and gated. Past the load there is no going back to the newer code (it needs the
   * newer schema), so a failure then stops the service for an operator instead of unwinding.
   */
  const restoreRollout = async (from: number, spec: ServiceSpec): Promise<ServiceResult> => {
    const migrations = previous?.migrations ?? spec.migrations;
    const snapshotSpec = migrations?.snapshot;
    const taken = await recording.storeSnapshot({ cloud: input.cloud, service, revision: from });
    if (!migrations || !snapshotSpec || !taken || taken.prunedAt)
      return result(
        'failed',
        [],
        `cannot restore the database of ${service}: ${!snapshotSpec ? 'its record names no migrations.snapshot (and so no restore command)' : !taken ? `no snapshot of revision ${from}` : `the snapshot of revision ${from} was deleted by retention at ${taken.prunedAt}`} (${runtime.untouched})`,
      );
    const db = `${taken.database.service}/${taken.database.name}`;
    const label = 'migrations restore';
    report(label, 'pending', `${db} from the snapshot of revision ${from} (${taken.takenAt})`);
    for (const unit of plan.replace) report(unit.id, 'pending', 'stopped before the restore');
    const kept: Array<{ unit: RolloutUnit; lb: LbTarget | null; step: CompensationStep }> = [];
    let stopFailure: string | undefined;
    for (const unit of plan.replace) {
      try {
        kept.push({ unit, ...(await retireOne(unit, spec)) });
      } catch (error) {
        stopFailure = failureMessage(error);
        report(unit.id, 'failed', stopFailure);
        break;
      }
    }
    const undo = async (why: string): Promise<ServiceResult> => {
      const unwound = await unwind(steps, revision, gate, report);
      if (!unwound.complete)
        return result('failed', [], `${why}; then ${unwound.reason} (abandoned by operator)`);
      return result('rolled-back', [], why);
    };
    if (stopFailure) return undo(`${stopFailure} (before the restore: the database is untouched)`);

    // The loss window ends now: nothing of this service writes any more.
    const windowEnd = nowIso();
    let rowsBefore: Record<string, number> | undefined;
    let loaded: JobResult | undefined;
    while (!loaded) {
      try {
        rowsBefore ??= await countRows(runtime, spec, input.database, snapshotSpec);
        report(label, 'starting', `${db}: ${taken.path} on ${taken.host} (${taken.bytes} bytes)`);
        loaded = await restoreSnapshot(runtime, spec, input.database, snapshotSpec, taken);
      } catch (error) {
        const why = `restoring ${db} from the snapshot of revision ${from} failed: ${failureMessage(error)}`;
        report(label, 'failed', why);
        // The load may have dropped the database already: an operator decides, nothing is guessed.
        const decision = await gate.waitForDecision('restore-failed', why, ['retry', 'abandon']);
        if (decision === 'abandon')
          return undo(
            `${why} (abandoned by operator: the newer code is back, on whatever the database now holds)`,
          );
      }
    }
    report(label, 'done', `${loaded.durationMs} ms`);
    await recording.storeSnapshotRestored({ cloud: input.cloud, service, revision: from, at: windowEnd });
    const tables = [...new Set([...Object.keys(taken.rows ?? {}), ...Object.keys(rowsBefore ?? {})])].sort();
    const restoreReport: RestoreReport = {
      database: taken.database,
      snapshot: {
        revision: from,
        takenAt: taken.takenAt,
        host: taken.host,
        path: taken.path,
        sha256: taken.sha256,
        bytes: taken.bytes,
      },
      startedAt: loaded.startedAt ?? windowEnd,
      durationMs: loaded.durationMs,
      lossWindow: { from: taken.takenAt, to: windowEnd },
      ...(rowsBefore && {
        rows: tables.map((table) => ({
          table,
          atSnapshot: taken.rows?.[table] ?? null,
          beforeRestore: rowsBefore?.[table] ?? null,
        })),
      }),
      output: loaded.output ?? '',
    };
    let startFailure: string | undefined;
    try {
      await runJobs('before', spec);
    } catch (error) {
      startFailure = failureMessage(error);
    }
    for (const { unit, lb, step } of startFailure ? [] : kept) {
      try {
        await startOne(unit, spec, lb, step);
      } catch (error) {
        startFailure = failureMessage(error);
        report(unit.id, 'failed', startFailure);
        break;
      }
    }
    // The newer units cannot run on the restored schema: what was kept of them goes either way.
    await commit(steps);
    const restored = (status: ServiceResult['status'], reason?: string): ServiceResult => ({
      ...result(status, [], reason),
      restore: restoreReport,
    });
    if (startFailure)
      return restored(
        'failed',
        `${startFailure} (after the restore of ${db}: the newer units were removed, they need the newer schema; fix the cause and apply again)`,
      );
    return restored('succeeded');
  };

  if (input.restoreFrom !== undefined && target) return restoreRollout(input.restoreFrom, target);

  let failure: string | undefined;
  if (target) {
    const batchSize = runtime.batchSize(target);
    for (let i = 0; i < plan.replace.length && !failure; i += batchSize) {
      const batch = plan.replace.slice(i, i + batchSize);
      // allSettled, not all: every started unit must finish and be on the stack before unwinding.
      const settled = await Promise.allSettled(batch.map((unit) => replaceOne(unit, target)));
      settled.forEach((outcome, k) => {
        if (outcome.status === 'rejected') {
          const message = failureMessage(outcome.reason);
          report((batch[k] as RolloutUnit).id, 'failed', message);
          failure ??= message;
        }
      });
    }
  }
  // Units no longer in the record are removed (kept until commit), after the new ones serve.
  for (const gone of failure ? [] : plan.remove) {
    const lb = lbOf(gone.instance);
    steps.push(runtime.compensation(gone, lb));
    try {
      await drain(lb, gone.id);
      report(gone.id, 'removing');
      await runtime.remove(gone);
      report(gone.id, 'removed');
    } catch (error) {
      failure = failureMessage(error);
      report(gone.id, 'failed', failure);
    }
  }
  if (!failure && target) {
    try {
      await runJobs('after', target);
    } catch (error) {
      failure = failureMessage(error);
    }
  }
  if (!failure) return result('succeeded', steps);

  const policy = (target ?? previous)?.upgrade.onFailure ?? 'rollback';
  if (policy === 'pause') {
    const decision = await gate.waitForDecision('rollout-failed', failure, ['rollback', 'abandon']);
    if (decision === 'abandon') return result('failed', [], `${failure} (rollback declined by operator)`);
  }
  count(ROLLBACKS, { cloud: input.cloud, service, kind: policy === 'pause' ? 'operator' : 'automatic' });
  const unwound = await unwind(steps, revision, gate, report);
  if (!unwound.complete)
    return result('failed', [], `${failure}; then ${unwound.reason} (abandoned by operator)`);
  return result('rolled-back', [], failure);
}
