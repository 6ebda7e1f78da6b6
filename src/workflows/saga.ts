// Compensation: put replaced instances back, newest first. A compensation that fails is not guessed
// around: the workflow waits for an operator to retry it (after fixing the cause) or abandon.
import { log } from '@temporalio/workflow';
import { quick, stopping, watching } from './activityProxies';
import { failureMessage } from './failures';
import type { OperatorGate } from './operatorGate';
import type { CompensationStep, InstancePhase } from './types';

export interface UnwindResult {
  complete: boolean;
  /** Set when the operator abandoned the compensation: what could not be restored. */
  reason?: string;
}

export async function unwind(
  steps: CompensationStep[],
  revision: number,
  gate: OperatorGate,
  report: (instance: string, phase: InstancePhase, detail?: string) => void,
): Promise<UnwindResult> {
  for (const step of [...steps].reverse()) {
    const instance = step.ref.instance;
    for (;;) {
      try {
        report(instance, 'rolling-back');
        const grace = step.previous?.service.stopGracePeriod ?? 10_000;
        const restored = await stopping(grace).restoreInstance({
          ref: step.ref,
          revision,
          retiredName: step.retiredName,
          previous: step.previous,
        });
        if (restored.outcome !== 'removed' && step.previous) {
          const health = step.previous.service.health;
          await watching(health.timeout).waitHealthy({ ref: step.ref, port: step.port, health });
          if (step.lb) {
            report(instance, 'enabling', `${step.lb.backend}/${step.lb.server}`);
            await watching(health.timeout).lbEnable({ ...step.lb, upTimeoutMs: health.timeout });
          }
        }
        report(instance, 'rolled-back', restored.outcome);
        break;
      } catch (error) {
        const reason = `compensation of ${step.ref.service}/${instance} failed: ${failureMessage(error)}`;
        log.error(reason);
        report(instance, 'failed', reason);
        const action = await gate.waitForDecision('compensation-failed', reason, ['retry', 'abandon']);
        if (action === 'abandon') return { complete: false, reason };
      }
    }
  }
  return { complete: true };
}

/** Removes the kept old containers once the whole change has succeeded. */
export async function commit(steps: CompensationStep[]): Promise<void> {
  await Promise.all(
    steps
      .filter((s) => s.retiredName !== null)
      .map((s) => quick.commitInstance({ ref: s.ref, retiredName: s.retiredName as string })),
  );
}
