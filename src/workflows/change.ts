// One revision of one cloud: every service in dependency order (independent ones in parallel), each
// as a child workflow. Kept old containers are removed only when the whole revision succeeded; if a
// service fails, the services this revision already changed are reverted, so the cloud stays on the
// previous revision as a whole.
import {
  executeChild,
  getExternalWorkflowHandle,
  patched,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { dependencyLevels } from '../record/dependencyLevels';
import { canonicalJson } from '../record/identity';
import type { CloudRecord, ServiceSpec } from '../record/schema';
import { RECORD_SCHEMA_REVISION } from '../record/schemaRevision';
import { recordSchema } from './schemas';
import { serviceRevertWorkflow } from './serviceRevert';
import { serviceContractWorkflow } from './serviceContract';
import { serviceRolloutWorkflow } from './serviceRollout';
import { commit } from './saga';
import { recordingLocal } from './activityProxies';
import { revisionRuntime, runtimeTarget } from './runtimes';
import { balancerActivities, lbTargetOf } from './traffic';
import type { LbTarget } from '../activities/types';
import { changeFinishedSignal, changeProgressQuery } from './messages';
import { cloudWorkflowId, contractWorkflowId, revertWorkflowId, serviceWorkflowId } from './ids';
import { OUTCOME_ATTRIBUTE_PATCH, RECORD_STORE_PATCH } from './patches';
import { markOutcome } from './outcomeAttribute';
import { CHANGES, SERVICE_CHANGES, count } from './metrics';
import { CLOUD } from './searchAttributes';
import type {
  ChangeInput,
  ChangeProgress,
  ChangeResult,
  DatabaseHome,
  MigrationReport,
  ServiceResult,
} from './types';
import { failureMessage, unreachableHostOf } from './failures';

const OK = new Set(['succeeded', 'unchanged']);

export async function changeWorkflow(raw: ChangeInput): Promise<ChangeResult> {
  const marked = patched(OUTCOME_ATTRIBUTE_PATCH);
  // Findable by cloud while it runs (Cloud = "east-3"), by outcome once it ended.
  if (marked) upsertSearchAttributes([{ key: CLOUD, value: raw.cloud }]);
  const result = await carryOut(raw);
  if (marked)
    markOutcome(
      result.outcome,
      `revision ${result.revision} of ${raw.cloud}: ${result.outcome}${result.reason ? ` (${result.reason})` : ''}`,
    );
  if (patched(RECORD_STORE_PATCH)) await report(raw.cloud, result);
  // Counted once recorded (a change that fails to report is counted by its cloud, as failed).
  count(CHANGES, { cloud: raw.cloud, outcome: result.outcome });
  for (const s of result.services)
    if (s.status !== 'unchanged')
      count(SERVICE_CHANGES, { cloud: raw.cloud, service: s.service, action: s.action, outcome: s.status });
  return result;
}

/**
 * Writes the outcome to the record store and tells the cloud, before the result becomes visible: a
 * client that awaits this workflow's result and applies again finds the cloud free (no busy race).
 */
async function report(cloud: string, result: ChangeResult): Promise<void> {
  await recordingLocal.storeRevisionFinished({
    cloud,
    number: result.revision,
    outcome: result.outcome,
    reason: result.reason,
    services: result.services,
    ...(result.unreachableHosts && { unreachableHosts: result.unreachableHosts }),
    finishedAt: new Date().toISOString(),
  });
  try {
    await getExternalWorkflowHandle(cloudWorkflowId(cloud)).signal(changeFinishedSignal, {
      revision: result.revision,
      outcome: result.outcome,
      reason: result.reason,
    });
  } catch {
    // Not started by a cloud workflow (tests start changes directly): nobody to tell.
  }
}

/**
 * The hosts that did not answer, sorted, when they are the only reason preflight refused the revision
 * (every refusal a HOST_UNREACHABLE naming its host): the revision may pass once they are back. With
 * any other problem (an image missing, say) undefined: retrying alone would not help.
 */
function onlyUnreachableHosts(refusals: unknown[]): string[] | undefined {
  const hosts = refusals.map(unreachableHostOf);
  if (hosts.some((h) => h === undefined)) return undefined;
  return [...new Set(hosts as string[])].sort();
}

async function carryOut(raw: ChangeInput): Promise<ChangeResult> {
  // Records stored by older versions lack newer fields: the schema fills their defaults. Records the
  // cloud workflow normalised with this schema revision need no parse (and this workflow no zod).
  const normalise = (record: CloudRecord): CloudRecord =>
    raw.recordSchema === RECORD_SCHEMA_REVISION ? record : recordSchema().CloudRecordSchema.parse(record);
  const input: ChangeInput = {
    ...raw,
    from: raw.from && normalise(raw.from),
    to: normalise(raw.to),
  };
  const { cloud, revision } = input;
  const toServices = input.to.spec.services;
  const fromServices = input.from?.spec.services ?? [];
  const toNames = new Set(toServices.map((s) => s.name));
  const removed = fromServices.filter((s) => !toNames.has(s.name));
  // Where services run; a removed service may run on a host or behind a balancer only the previous
  // record names: both views are kept.
  const where = runtimeTarget(input.to, input.from);
  const { loadBalancers } = where;
  const levels = dependencyLevels(toServices);
  // Removed services go last, dependents before what they depend on.
  const removalLevels = dependencyLevels(removed).reverse();

  const progress: ChangeProgress = {
    revision,
    phase: 'running',
    services: [...levels.flat(), ...removalLevels.flat()].map((service) => ({
      service,
      workflowId: serviceWorkflowId(cloud, revision, service),
      status: 'pending',
    })),
  };
  setHandler(changeProgressQuery, () => progress);
  const setStatus = (service: string, status: ChangeProgress['services'][number]['status']): void => {
    const entry = progress.services.find((s) => s.service === service);
    if (entry) entry.status = status;
  };

  /** Where the database a service migrates runs: its snapshots run there too. */
  const databaseHome = (spec: ServiceSpec | null): DatabaseHome | undefined => {
    const name = spec?.migrations?.database.service;
    const db = toServices.find((s) => s.name === name) ?? fromServices.find((s) => s.name === name);
    if (!db) return undefined;
    const host = db.instances[0]?.host;
    return { image: db.image, ...(host !== undefined && { host }) };
  };

  const runService = async (name: string): Promise<ServiceResult> => {
    const target = toServices.find((s) => s.name === name) ?? null;
    const previous: ServiceSpec | null = fromServices.find((s) => s.name === name) ?? null;
    const database = databaseHome(target) ?? databaseHome(previous);
    const rollback = input.rollback?.service === name ? input.rollback : undefined;
    setStatus(name, 'running');
    try {
      const result = await executeChild(serviceRolloutWorkflow, {
        workflowId: serviceWorkflowId(cloud, revision, name),
        args: [
          {
            cloud,
            revision,
            previousRevision: input.previousRevision,
            service: name,
            target,
            previous,
            recordSchema: RECORD_SCHEMA_REVISION,
            ...where,
            // Only when there is one: inputs of other services stay as they were.
            ...(database && { database }),
            ...(rollback && { rollback: true }),
            ...(rollback?.restoreFrom !== undefined && { restoreFrom: rollback.restoreFrom }),
          },
        ],
      });
      setStatus(name, result.status);
      return result;
    } catch (error) {
      setStatus(name, 'failed');
      return {
        service: name,
        action: 'unchanged',
        status: 'failed',
        fromVersion: null,
        toVersion: null,
        instances: [],
        reason: failureMessage(error),
        steps: [],
      };
    }
  };

  // Servers that will be drained: instances of changed services that existed before, behind a balancer.
  const lbTargets = toServices
    .filter((service) => {
      const before = fromServices.find((f) => f.name === service.name);
      return before && canonicalJson(before) !== canonicalJson(service);
    })
    .flatMap((service) => service.instances)
    .flatMap((instance) => {
      const target = lbTargetOf(instance, loadBalancers, where.hosts);
      return target ? [target] : [];
    });
  // One check per balancer host (a balancer without one: the central worker, in one call as before).
  const lbHosts = [...new Set(lbTargets.map((t) => t.host?.name))];
  const lbChecks = () =>
    lbHosts.map((name) => {
      const targets = lbTargets.filter((t) => t.host?.name === name);
      return balancerActivities(cloud, targets[0] as LbTarget).quick.lbCheck(targets);
    });
  // Preflight every service of the revision before any is touched: a missing image, a dead host or
  // an unknown load-balancer server must refuse the whole revision, not half of it.
  const preflight = await Promise.allSettled([
    ...revisionRuntime(cloud, where).preflight(toServices),
    // After the runtime's checks: the order older versions scheduled them in.
    ...lbChecks(),
  ]);
  const refusals = preflight.flatMap((p) => (p.status === 'rejected' ? [p.reason as unknown] : []));
  if (refusals.length > 0) {
    progress.phase = 'done';
    const reason = refusals.map(failureMessage).join('; ');
    const unreachableHosts = onlyUnreachableHosts(refusals);
    return {
      revision,
      outcome: 'failed',
      reason,
      services: [],
      ...(unreachableHosts && { unreachableHosts }),
    };
  }

  const results: ServiceResult[] = [];
  let failed: ServiceResult | undefined;
  for (const level of [...levels, ...removalLevels]) {
    const levelResults = await Promise.all(level.map(runService));
    results.push(...levelResults);
    failed = levelResults.find((r) => !OK.has(r.status));
    if (failed) break;
  }

  /**
   * Contracts, in dependency order, the databases of the services whose migrations ran: only now,
   * with every service of the revision serving its new code, so no revert lands on a contracted
   * schema. Returns the service whose contract an operator declined with a rollback, if one did.
   */
  const contractAll = async (): Promise<{ declined?: ServiceResult; notes: string[] }> => {
    const notes: string[] = [];
    for (const r of results.filter((x) => x.migrations?.contract === 'pending')) {
      progress.phase = 'contracting';
      const workflowId = contractWorkflowId(cloud, revision, r.service);
      const entry = progress.services.find((s) => s.service === r.service);
      if (entry) Object.assign(entry, { workflowId, status: 'running' });
      const out = await executeChild(serviceContractWorkflow, {
        workflowId,
        args: [
          {
            cloud,
            revision,
            service: r.service,
            target: toServices.find((s) => s.name === r.service) as ServiceSpec,
            action: r.action,
            recordSchema: RECORD_SCHEMA_REVISION,
            ...where,
          },
        ],
      });
      const before = r.migrations as MigrationReport;
      r.migrations = {
        ...before,
        phases: [...before.phases, ...out.phases],
        contract: out.outcome === 'declined' ? 'not-run' : out.outcome,
        ...(out.contractedAt !== undefined && { contractedAt: out.contractedAt }),
      };
      if (entry) entry.status = 'succeeded';
      if (out.outcome === 'declined')
        return { declined: { ...r, status: 'rolled-back', reason: out.reason }, notes };
      if (out.reason) notes.push(`${r.service}: ${out.reason}`);
    }
    return { notes };
  };

  if (!failed) {
    const contracted = await contractAll();
    failed = contracted.declined;
    if (!failed) {
      progress.phase = 'committing';
      await commit(results.flatMap((r) => r.steps));
      progress.phase = 'done';
      return {
        revision,
        outcome: 'applied',
        ...(contracted.notes.length > 0 && { reason: contracted.notes.join('; ') }),
        services: results.map((r) => ({ ...r, steps: [] })),
      };
    }
  }

  // Put back, newest first, the services this revision already changed.
  progress.phase = 'reverting';
  let revertIncomplete: string | undefined;
  for (const done of results.filter((r) => r.status === 'succeeded').reverse()) {
    // Progress now points at the revert workflow: that is where an operator's decision would go.
    const entry = progress.services.find((s) => s.service === done.service);
    if (entry)
      Object.assign(entry, {
        workflowId: revertWorkflowId(cloud, revision, done.service),
        status: 'running',
      });
    const reverted = await executeChild(serviceRevertWorkflow, {
      workflowId: revertWorkflowId(cloud, revision, done.service),
      args: [{ cloud, revision, service: done.service, steps: done.steps }],
    });
    done.status = reverted.complete ? 'reverted' : 'failed';
    if (!reverted.complete) revertIncomplete ??= reverted.reason;
    setStatus(done.service, done.status);
  }
  progress.phase = 'done';
  const reason = `${failed.service}: ${failed.reason ?? failed.status}${revertIncomplete ? `; revert incomplete: ${revertIncomplete}` : ''}`;
  const outcome = failed.status === 'rolled-back' && !revertIncomplete ? 'rolled-back' : 'failed';
  // A revision that did not apply never reaches its contracts.
  for (const r of results)
    if (r.migrations?.contract === 'pending') r.migrations = { ...r.migrations, contract: 'not-run' };
  return { revision, outcome, reason, services: results.map((r) => ({ ...r, steps: [] })) };
}
