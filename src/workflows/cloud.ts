// The entity workflow of one cloud (id "cloud:<name>"): it owns the cloud's record and revision
// history and runs one change at a time. Changes arrive as updates; a second one while a change runs
// is refused by the update validator, so it never enters the history and nothing is touched.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { canonicalJson } from '../record/identity';
import { CloudRecordSchema, type CloudRecord } from '../record/schema';
import { validateRecord } from '../record/validate';
import { changeWorkflow } from './change';
import { failureMessage } from './failures';
import { changeWorkflowId } from './ids';
import {
  ApplyPayload,
  RollbackPayload,
  applyUpdate,
  cloudStateQuery,
  revisionQuery,
  rollbackUpdate,
  type ChangeAccepted,
} from './messages';
import type { ActiveChange, ChangeResult, CloudState, Revision } from './types';

export interface CloudWorkflowInput {
  name: string;
  /** Carried over by continue-as-new. */
  state?: CloudState;
  /** Continue-as-new once the history is this long and the cloud is idle (tests set it low). */
  maxHistoryEvents?: number;
}

/** Continue-as-new well before Temporal's history warnings (10,240 events). */
const DEFAULT_MAX_HISTORY_EVENTS = 5_000;

function reject(type: string, message: string, details?: unknown): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true, details: details ? [details] : [] });
}

function zodSummary(issues: Array<{ path: PropertyKey[]; message: string }>): string {
  return issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}

export async function cloudWorkflow(input: CloudWorkflowInput): Promise<void> {
  const state: CloudState = input.state ?? { name: input.name, revisions: [], current: null, active: null };
  const maxHistoryEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  let pending: Revision | null = null;
  let startedRevision = 0;

  const currentRevision = (): Revision | undefined => state.revisions.find((r) => r.number === state.current);
  const refuseIfBusy = (): void => {
    const a = state.active;
    if (a) {
      reject(
        'CLOUD_BUSY',
        `cloud ${state.name} is busy: revision ${a.revision} (${a.kind} by ${a.author} at ${a.startedAt}${a.message ? `: "${a.message}"` : ''}) is still running as workflow ${a.workflowId}; wait for it to finish and try again`,
        a,
      );
    }
  };

  /** Records a new revision and hands it to the main loop; resolves once its change workflow runs. */
  const accept = async (
    record: CloudRecord,
    kind: ActiveChange['kind'],
    author: string,
    message: string,
    rollbackOf?: Revision['rollbackOf'],
  ): Promise<ChangeAccepted> => {
    refuseIfBusy(); // a second update in the same activation passed its validator before this one ran
    const number = (state.revisions.at(-1)?.number ?? 0) + 1;
    const createdAt = new Date().toISOString();
    const revision: Revision = {
      number,
      record,
      message,
      author,
      createdAt,
      outcome: 'in-progress',
      rollbackOf,
    };
    const workflowId = changeWorkflowId(state.name, number);
    state.revisions.push(revision);
    state.active = { revision: number, workflowId, kind, author, message, startedAt: createdAt };
    pending = revision;
    await condition(() => startedRevision >= number);
    return { revision: number, workflowId };
  };

  setHandler(cloudStateQuery, () => state);
  setHandler(revisionQuery, (n) => state.revisions.find((r) => r.number === n) ?? null);

  setHandler(
    applyUpdate,
    async (payload) => {
      const p = ApplyPayload.parse(payload);
      return accept(CloudRecordSchema.parse(p.record), 'apply', p.author, p.message);
    },
    {
      validator: (payload) => {
        const p = ApplyPayload.safeParse(payload);
        if (!p.success) reject('INVALID_INPUT', `invalid apply payload: ${zodSummary(p.error.issues)}`);
        const checked = validateRecord(p.data.record);
        if (!checked.ok) {
          reject(
            'INVALID_RECORD',
            `invalid deployment record: ${checked.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
            {
              issues: checked.issues,
            },
          );
        }
        if (checked.record.metadata.name !== state.name) {
          reject(
            'INVALID_RECORD',
            `the record is for cloud "${checked.record.metadata.name}", not "${state.name}"`,
          );
        }
        refuseIfBusy();
      },
    },
  );

  /** The record a rollback would apply: the current record with one service's spec from an earlier revision. */
  const rollbackRecord = (
    p: ReturnType<typeof RollbackPayload.parse>,
  ): { record: CloudRecord; toRevision: number } => {
    const current = currentRevision();
    if (!current) reject('NOT_FOUND', `cloud ${state.name} has no applied revision to roll back from`);
    const spec = current.record.spec.services.find((s) => s.name === p.service);
    if (!spec) {
      reject(
        'NOT_FOUND',
        `service ${p.service} is not in the current revision ${current.number} (services: ${current.record.spec.services.map((s) => s.name).join(', ')})`,
      );
    }
    let source: Revision | undefined;
    if (p.toRevision !== undefined) {
      source = state.revisions.find((r) => r.number === p.toRevision);
      if (!source) reject('NOT_FOUND', `cloud ${state.name} has no revision ${p.toRevision}`);
      if (source.outcome !== 'applied') {
        reject(
          'INVALID_INPUT',
          `revision ${source.number} never applied (${source.outcome}); choose an applied revision`,
        );
      }
    } else {
      source = [...state.revisions]
        .reverse()
        .find(
          (r) =>
            r.number < current.number &&
            r.outcome === 'applied' &&
            canonicalJson(r.record.spec.services.find((s) => s.name === p.service) ?? null) !==
              canonicalJson(spec),
        );
      if (!source)
        reject('NOT_FOUND', `no earlier applied revision has a different spec for service ${p.service}`);
    }
    const earlier = source.record.spec.services.find((s) => s.name === p.service);
    if (!earlier) reject('NOT_FOUND', `service ${p.service} is not in revision ${source.number}`);
    const record: CloudRecord = {
      ...current.record,
      spec: {
        ...current.record.spec,
        services: current.record.spec.services.map((s) => (s.name === p.service ? earlier : s)),
      },
    };
    return { record, toRevision: source.number };
  };

  setHandler(
    rollbackUpdate,
    async (payload) => {
      const p = RollbackPayload.parse(payload);
      const { record, toRevision } = rollbackRecord(p);
      const message = p.message || `rollback ${p.service} to revision ${toRevision}`;
      return accept(record, 'rollback', p.author, message, { service: p.service, toRevision });
    },
    {
      validator: (payload) => {
        const p = RollbackPayload.safeParse(payload);
        if (!p.success) reject('INVALID_INPUT', `invalid rollback payload: ${zodSummary(p.error.issues)}`);
        refuseIfBusy();
        rollbackRecord(p.data);
      },
    },
  );

  for (;;) {
    await condition(
      () => pending !== null || (workflowInfo().historyLength > maxHistoryEvents && !state.active),
    );
    const revision = pending as Revision | null;
    if (!revision) {
      await condition(allHandlersFinished);
      log.info('continuing as new to bound history', { revisions: state.revisions.length });
      return continueAsNew<typeof cloudWorkflow>({ name: state.name, state, maxHistoryEvents });
    }
    pending = null;
    const previous = currentRevision();
    let result: ChangeResult;
    const change = await startChild(changeWorkflow, {
      workflowId: changeWorkflowId(state.name, revision.number),
      args: [
        {
          cloud: state.name,
          revision: revision.number,
          previousRevision: previous?.number ?? null,
          from: previous?.record ?? null,
          to: revision.record,
        },
      ],
    });
    startedRevision = revision.number; // the client can now await the change workflow by id
    try {
      result = await change.result();
    } catch (error) {
      result = { revision: revision.number, outcome: 'failed', reason: failureMessage(error), services: [] };
    }
    revision.outcome = result.outcome;
    revision.reason = result.reason;
    revision.services = result.services;
    revision.finishedAt = new Date().toISOString();
    if (result.outcome === 'applied') state.current = revision.number;
    state.active = null;
    log.info('revision finished', {
      revision: revision.number,
      outcome: result.outcome,
      reason: result.reason,
    });
  }
}
