// One service's part of a revision, on any runtime: replace every unit that does not match the
// record, maxUnavailable at a time, each drained, health-gated and baked; remove the units no
// longer in the record; on failure, compensate. What a unit is (a container, a whole deployment)
// and how each step is done is the runtime's (./runtimes/strategy.ts).
import { setHandler } from '@temporalio/workflow';
import type { JobResult, LbTarget } from '../activities/types';
import { imageVersion } from '../record/identity';
import type { InstanceSpec, JobSpec, ServiceSpec } from '../record/schema';
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
import { unwind } from './saga';
import { recordSchema } from './schemas';
import { migrationsDue, newMigrationReport, runMigrationPhase } from './migrations';
import { balancerActivities, lbTargetOf } from './traffic';
import type { InstancePhase, ServiceProgress, ServiceResult, ServiceRolloutInput } from './types';

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
  const migrating = migrationsDue(target, action);
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

  /** Check, expand and migrate, in that order, before any instance: old code runs on the expanded schema. */
  const migrateBefore = async (spec: ServiceSpec): Promise<void> => {
    if (!migrating || !migrationReport) return;
    for (const stage of ['check-before', 'expand', 'migrate'] as const) {
      const step = migrating[stage === 'check-before' ? 'check' : stage];
      if (!step) continue;
      const label = `migrations ${stage}`;
      report(label, 'starting', `${migrating.database.service}/${migrating.database.name}`);
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
      await runJobs('before', target);
    } catch (error) {
      // Nothing has been touched yet: the change stops here.
      return result('failed', [], `${failureMessage(error)} (${runtime.untouched})`);
    }
  }

  for (const unit of plan.replace) report(unit.id, 'pending');
  for (const unit of plan.remove) report(unit.id, 'pending', 'not in the record any more');

  const steps: CompensationStep[] = [];
  const replaceOne = async (unit: RolloutUnit, spec: ServiceSpec): Promise<void> => {
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
