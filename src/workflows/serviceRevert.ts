// Reverts a service that succeeded within a revision when a later service of the same revision
// failed: the same compensation as an in-service rollback, run from the steps the rollout returned.
import { setHandler } from '@temporalio/workflow';
import { serviceProgressQuery } from './messages';
import { ROLLBACKS, count, outOfServiceGauge } from './metrics';
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
  const outOfService = outOfServiceGauge(input.cloud, input.service);
  const report = (instance: string, phase: InstancePhase, detail?: string): void => {
    if (phase === 'rolling-back') outOfService.take(instance);
    else if (phase === 'rolled-back') outOfService.back(instance);
    const entry = progress.instances.find((i) => i.instance === instance);
    if (entry) Object.assign(entry, { phase, detail });
    else progress.instances.push({ instance, phase, detail });
  };
  count(ROLLBACKS, { cloud: input.cloud, service: input.service, kind: 'revert' });
  // Metrics only: the await adds no command (unwind's are all issued before it returns).
  try {
    return await unwind(input.steps, input.revision, gate, report);
  } finally {
    outOfService.clear();
  }
}
