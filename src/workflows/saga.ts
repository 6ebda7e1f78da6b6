// Compensation: put replaced units back, newest first, on whichever runtime recorded them. A
// compensation that fails is not guessed around: the workflow waits for an operator to retry it
// (after fixing the cause) or abandon.
import { log } from '@temporalio/workflow';
import { watching } from './activityProxies';
import { failureMessage } from './failures';
import type { OperatorGate } from './operatorGate';
import { compensationRuntime, type CompensationStep, type Report } from './runtimes';

export interface UnwindResult {
  complete: boolean;
  /** Set when the operator abandoned the compensation: what could not be restored. */
  reason?: string;
}

export async function unwind(
  steps: CompensationStep[],
  revision: number,
  gate: OperatorGate,
  report: Report,
): Promise<UnwindResult> {
  for (const step of [...steps].reverse()) {
    const runtime = compensationRuntime(step);
    const unit = runtime.unitOf(step);
    for (;;) {
      try {
        report(unit, 'rolling-back');
        const restored = await runtime.restore(step, revision);
        const traffic = restored.serving ? runtime.traffic(step) : null;
        if (traffic) {
          const { lb, health } = traffic;
          report(unit, 'enabling', `${lb.backend}/${lb.server}`);
          await watching(health.timeout).lbEnable({ ...lb, upTimeoutMs: health.timeout });
        }
        report(unit, 'rolled-back', restored.detail);
        break;
      } catch (error) {
        const reason = `compensation of ${runtime.describe(step)} failed: ${failureMessage(error)}`;
        log.error(reason);
        report(unit, 'failed', reason);
        const action = await gate.waitForDecision('compensation-failed', reason, ['retry', 'abandon']);
        if (action === 'abandon') return { complete: false, reason };
      }
    }
  }
  return { complete: true };
}

/** Removes what was kept for a rollback (old containers…) once the whole change has succeeded. */
export async function commit(steps: CompensationStep[]): Promise<void> {
  await Promise.all(
    steps.flatMap((step) => {
      const committed = compensationRuntime(step).commit(step);
      return committed ? [committed] : [];
    }),
  );
}
