// When Patchbay cannot decide safely (a compensation failed, or the record says onFailure: pause),
// the workflow waits for an operator's decision sent as the `patchbay.resolve` update. Every decision
// is written to the record store's audit log (who, when, what, why) before it takes effect.
import { condition, currentUpdateInfo, log, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { failure } from '../lib/failures';
import { parsePayload } from '../record/zodIssues';
import { recording } from './activityProxies';
import { resolveUpdate } from './messages';
import { RECORD_STORE_PATCH } from './patches';
import { messagePayloads } from './schemas';
import type { OperatorAction, OperatorBlock } from './types';

export interface OperatorGate {
  readonly block: OperatorBlock | null;
  waitForDecision(
    kind: OperatorBlock['kind'],
    reason: string,
    allowed: OperatorAction[],
  ): Promise<OperatorAction>;
}

/** cloud:<name>:r<N>:<service>[:revert|:contract] -> name, N, service. */
function parseWorkflowId(workflowId: string): { cloud: string; revision?: number; service?: string } {
  const m = /^cloud:(.+):r(\d+):([^:]+)(?::revert|:contract)?$/.exec(workflowId);
  return m ? { cloud: m[1]!, revision: Number(m[2]), service: m[3]! } : { cloud: workflowId };
}

export function installOperatorGate(now: () => string): OperatorGate {
  let block: OperatorBlock | null = null;
  let decision: OperatorAction | null = null;
  /** A decision is being written to the audit log: a second one is refused meanwhile. */
  let deciding = false;

  setHandler(
    resolveUpdate,
    async (payload) => {
      const parsed = messagePayloads().ResolvePayload.parse(payload);
      deciding = true;
      if (patched(RECORD_STORE_PATCH)) {
        const { workflowId } = workflowInfo();
        const { cloud, revision, service } = parseWorkflowId(workflowId);
        // Keyed by the update's id: a retried activity or a replayed history writes the row once.
        await recording.storeAudit({
          key: `${workflowId}:${currentUpdateInfo()!.id}`,
          at: now(),
          actor: parsed.author,
          action: `resolve:${parsed.action}`,
          targetKind: 'cloud',
          target: cloud,
          reason: parsed.note,
          detail: { workflowId, revision, service, block: block?.kind, blockReason: block?.reason },
        });
      }
      decision = parsed.action;
      deciding = false;
      log.info('operator decision', { action: parsed.action, author: parsed.author, note: parsed.note });
      return { accepted: parsed.action };
    },
    {
      validator: (payload) => {
        const parsed = parsePayload(messagePayloads().ResolvePayload, payload, 'resolve');
        if (!block) throw failure('INVALID_INPUT', 'nothing is waiting for an operator decision');
        if (deciding || decision !== null)
          throw failure(
            'INVALID_INPUT',
            'another operator decision is being recorded; check status and try again',
          );
        if (!block.allowed.includes(parsed.action)) {
          throw failure(
            'INVALID_INPUT',
            `"${parsed.action}" is not possible now (${block.kind}); choose one of: ${block.allowed.join(', ')}`,
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
