// Compensation: put replaced instances back, newest first. A compensation that fails is not guessed
// around: the workflow waits for an operator to retry it (after fixing the cause) or abandon.
import { log } from '@temporalio/workflow';
import { quick, stopping, watching } from './activityProxies';
import { failureMessage } from './failures';
import type { OperatorGate } from './operatorGate';
import {
  isKubernetesStep,
  type CompensationStep,
  type InstancePhase,
  type KubernetesCompensation,
} from './types';

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
    if (isKubernetesStep(step)) {
      const done = await unwindKubernetes(step, gate, report);
      if (!done.complete) return done;
      continue;
    }
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

/** Kubernetes: put the Deployment's previous spec back (or delete it if it is new) and wait for it. */
async function unwindKubernetes(
  step: KubernetesCompensation,
  gate: OperatorGate,
  report: (instance: string, phase: InstancePhase, detail?: string) => void,
): Promise<UnwindResult> {
  const k = step.kubernetes;
  const id = `deployment/${k.service}`;
  for (;;) {
    try {
      report(id, 'rolling-back');
      const restored = await quick.k8sRestore(k);
      if (restored.generation !== null && k.previous) {
        await watching(k.previous.health.timeout).k8sWaitRollout({
          runtime: k.runtime,
          cloud: k.cloud,
          service: k.service,
          generation: restored.generation,
          timeoutMs: k.previous.health.timeout,
        });
      }
      report(id, 'rolled-back', restored.generation === null ? 'removed' : 'previous spec restored');
      return { complete: true };
    } catch (error) {
      const reason = `compensation of ${k.service} (Deployment) failed: ${failureMessage(error)}`;
      log.error(reason);
      report(id, 'failed', reason);
      const action = await gate.waitForDecision('compensation-failed', reason, ['retry', 'abandon']);
      if (action === 'abandon') return { complete: false, reason };
    }
  }
}

/** Removes the kept old containers once the whole change has succeeded (Kubernetes keeps nothing). */
export async function commit(steps: CompensationStep[]): Promise<void> {
  await Promise.all(
    steps.flatMap((s) =>
      !isKubernetesStep(s) && s.retiredName !== null
        ? [quick.commitInstance({ ref: s.ref, retiredName: s.retiredName })]
        : [],
    ),
  );
}
