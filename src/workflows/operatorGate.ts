// When Patchbay cannot decide safely (a compensation failed, or the record says onFailure: pause),
// the workflow waits for an operator's decision sent as the `patchbay.resolve` update.
import { ApplicationFailure, condition, log, setHandler } from '@temporalio/workflow';
import { ResolvePayload, resolveUpdate } from './messages';
import type { OperatorAction, OperatorBlock } from './types';

export interface OperatorGate {
  readonly block: OperatorBlock | null;
  waitForDecision(
    kind: OperatorBlock['kind'],
    reason: string,
    allowed: OperatorAction[],
  ): Promise<OperatorAction>;
}

export function installOperatorGate(now: () => string): OperatorGate {
  let block: OperatorBlock | null = null;
  let decision: OperatorAction | null = null;

  setHandler(
    resolveUpdate,
    (payload) => {
      const parsed = ResolvePayload.parse(payload);
      decision = parsed.action;
      log.info('operator decision', { action: parsed.action, author: parsed.author, note: parsed.note });
      return { accepted: parsed.action };
    },
    {
      validator: (payload) => {
        const parsed = ResolvePayload.safeParse(payload);
        if (!parsed.success) {
          throw ApplicationFailure.nonRetryable(
            `invalid resolve payload: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
          );
        }
        if (!block) throw ApplicationFailure.nonRetryable('nothing is waiting for an operator decision');
        if (!block.allowed.includes(parsed.data.action)) {
          throw ApplicationFailure.nonRetryable(
            `"${parsed.data.action}" is not possible now (${block.kind}); choose one of: ${block.allowed.join(', ')}`,
          );
        }
      },
    },
  );

  return {
    get block() {
      return block;
    },
    async waitForDecision(kind, reason, allowed) {
      block = { kind, reason, allowed, since: now() };
      decision = null;
      log.warn('waiting for an operator decision', { kind, reason, allowed });
      await condition(() => decision !== null);
      const chosen = decision as unknown as OperatorAction;
      block = null;
      return chosen;
    },
  };
}
