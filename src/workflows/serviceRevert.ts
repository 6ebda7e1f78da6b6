// Reverts a service that succeeded within a revision when a later service of the same revision
// failed: the same compensation as an in-service rollback, run from the steps the rollout returned.
import { setHandler } from '@temporalio/workflow';
import { serviceProgressQuery } from './messages';
import { installOperatorGate } from './operatorGate';
import { unwind } from './saga';
import type { InstancePhase, ServiceProgress, ServiceRevertInput } from './types';

export async function serviceRevertWorkflow(
  input: ServiceRevertInput,
): Promise<{ complete: boolean; reason?: string }> {
  const gate = installOperatorGate(() => new Date().toISOString());
  const progress: ServiceProgress = {
    service: input.service,
    action: 'planning',
    instances: [],
    blocked: null,
  };
  setHandler(serviceProgressQuery, () => ({ ...progress, blocked: gate.block }));
  const report = (instance: string, phase: InstancePhase, detail?: string): void => {
    const entry = progress.instances.find((i) => i.instance === instance);
    if (entry) Object.assign(entry, { phase, detail });
    else progress.instances.push({ instance, phase, detail });
  };
  return unwind(input.steps, input.revision, gate, report);
}
