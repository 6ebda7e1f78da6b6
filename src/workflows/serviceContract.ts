// A revision's contract of one service's database, started by the change once every service of the
// revision succeeded (every instance runs the new code and passed its gate and bake). After it the
// schema no longer serves the previous release: a manual contract waits for an operator's approval
// first, and a failed one waits for an operator (retry or abandon), never for an automatic rollback.
import { setHandler } from '@temporalio/workflow';
import { RECORD_SCHEMA_REVISION } from '../record/schemaRevision';
import { failureMessage } from './failures';
import { serviceProgressQuery } from './messages';
import { runMigrationPhase } from './migrations';
import { installOperatorGate } from './operatorGate';
import { serviceRuntime } from './runtimes';
import { recordSchema } from './schemas';
import type {
  InstancePhase,
  MigrationPhaseRecord,
  ServiceContractInput,
  ServiceContractResult,
  ServiceProgress,
} from './types';

export async function serviceContractWorkflow(input: ServiceContractInput): Promise<ServiceContractResult> {
  const { revision, service } = input;
  // Inputs recorded by an older schema revision get the newer fields' defaults.
  const target =
    input.recordSchema === RECORD_SCHEMA_REVISION ? input.target : recordSchema().Service.parse(input.target);
  const migrations = target.migrations;
  const phases: MigrationPhaseRecord[] = [];
  if (!migrations?.contract) return { outcome: 'skipped', phases, reason: 'no contract declared' };
  const contract = migrations.contract;
  const gate = installOperatorGate(() => new Date().toISOString());
  const progress: ServiceProgress = { service, action: input.action, instances: [], blocked: null };
  setHandler(serviceProgressQuery, () => ({ ...progress, blocked: gate.block }));
  const report = (step: string, phase: InstancePhase, detail?: string): void => {
    const entry = progress.instances.find((i) => i.instance === step);
    if (entry) Object.assign(entry, { phase, detail });
    else progress.instances.push({ instance: step, phase, detail });
  };
  // The service's runtime, where the revision runs it (RuntimeTarget: hosts or a namespace).
  const { target: _spec, action: _action, recordSchema: _schema, ...where } = input;
  const runtime = serviceRuntime({ ...where, previousRevision: null, target, previous: null });
  const database = `${migrations.database.service}/${migrations.database.name}`;

  // A new service has no previous release that needs the old schema: nothing to hold the contract for.
  if (contract.approval === 'manual' && input.action === 'patch') {
    report('migrations contract', 'pending', 'waiting for approval');
    const decision = await gate.waitForDecision(
      'contract-approval',
      `revision ${revision} runs the new ${service} everywhere; contracting database ${database} next makes revisions before ${revision} unable to run on it without --restore-database. approve to contract, abandon to keep the expanded schema (contract later), rollback to put the previous ${service} back`,
      ['approve', 'abandon', 'rollback'],
    );
    if (decision === 'rollback')
      return { outcome: 'declined', phases, reason: 'the operator declined the contract and rolled back' };
    if (decision === 'abandon')
      return { outcome: 'skipped', phases, reason: 'the operator kept the expanded schema (no contract)' };
  }

  for (;;) {
    report('migrations contract', 'starting', database);
    try {
      phases.push(await runMigrationPhase(runtime, target, 'contract', contract));
      break;
    } catch (error) {
      const reason = `contract of ${database} failed: ${failureMessage(error)}`;
      report('migrations contract', 'failed', reason);
      // The schema may be half contracted: neither the old nor maybe the new code is known to run on
      // it, so nothing is rolled back by itself.
      const decision = await gate.waitForDecision('contract-failed', reason, ['retry', 'abandon']);
      if (decision === 'abandon')
        return { outcome: 'failed', phases, reason: `${reason} (abandoned by operator)` };
    }
  }
  const contractedAt = new Date().toISOString();
  report('migrations contract', 'done', `exit 0 after ${phases[phases.length - 1]?.durationMs ?? 0} ms`);
  if (migrations.check) {
    report('migrations check-after', 'starting', database);
    try {
      phases.push(await runMigrationPhase(runtime, target, 'check-after', migrations.check));
      report('migrations check-after', 'done');
    } catch (error) {
      // Only a reading: the contract is done whatever it says.
      report('migrations check-after', 'failed', failureMessage(error));
    }
  }
  return { outcome: 'done', phases, contractedAt };
}
