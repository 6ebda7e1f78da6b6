// Compensation: put replaced units back, newest first, on whichever runtime recorded them. A
// compensation that fails is not guessed around: the workflow waits for an operator to retry it
// (after fixing the cause) or abandon.
import { log } from '@temporalio/workflow';
import { failureMessage, failureTypeOf } from './failures';
import type { OperatorGate } from './operatorGate';
import { compensationRuntime, type CompensationStep, type Report } from './runtimes';
import { balancerActivities } from './traffic';

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
  // Units on a host nobody can reach now are put back last: first everything still reachable.
  const unreachable: CompensationStep[] = [];
  for (const step of [...steps].reverse()) {
    const done = await putBack(step, revision, gate, report, (error) => {
      if (failureTypeOf(error) !== 'HOST_UNREACHABLE') return false;
      unreachable.push(step);
      return true;
    });
    if (!done.complete) return done;
  }
  for (const step of unreachable) {
    const done = await putBack(step, revision, gate, report, () => false);
    if (!done.complete) return done;
  }
  return { complete: true };
}

/**
 * Puts one unit back; on failure asks `defer` whether to leave it for later, else waits for an
 * operator to retry (after fixing the cause) or abandon.
 */
async function putBack(
  step: CompensationStep,
  revision: number,
  gate: OperatorGate,
  report: Report,
  defer: (error: unknown) => boolean,
): Promise<UnwindResult> {
  const runtime = compensationRuntime(step);
  const unit = runtime.unitOf(step);
  for (;;) {
    try {
      report(unit, 'rolling-back');
      const restored = await runtime.restore(step, revision);
      const traffic = restored.serving ? runtime.traffic(step) : null;
      if (traffic) {
        const { cloud, lb, health } = traffic;
        report(unit, 'enabling', `${lb.backend}/${lb.server}`);
        await balancerActivities(cloud, lb)
          .watching(health.timeout)
          .lbEnable({ ...lb, upTimeoutMs: health.timeout });
      }
      report(unit, 'rolled-back', restored.detail);
      return { complete: true };
    } catch (error) {
      const reason = `compensation of ${runtime.describe(step)} failed: ${failureMessage(error)}`;
      report(unit, 'failed', reason);
      if (defer(error)) return { complete: true };
      log.error(reason);
      const action = await gate.waitForDecision('compensation-failed', reason, ['retry', 'abandon']);
      if (action === 'abandon') return { complete: false, reason };
    }
  }
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
