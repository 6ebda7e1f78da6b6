// The entity workflow of one cloud (id "cloud:<name>"): it runs one change at a time and keeps only
// what it needs to decide — the current revision with its record, the highest revision number and
// the running change. Every revision is written to the record store (PostgreSQL) by idempotent
// activities; history, show and status read it there. Changes arrive as updates; a second one while a
// change runs is refused by the update validator, so it never enters the history and nothing is touched.
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { formatIssues } from '../lib/errors';
import { failure, failureType } from '../lib/failures';
import { canonicalJson } from '../record/identity';
import type { CloudRecord } from '../record/schema';
import { RECORD_SCHEMA_REVISION } from '../record/schemaRevision';
import { parsePayload } from '../record/zodIssues';
import { recordingLocal } from './activityProxies';
import { changeWorkflow } from './change';
import { failureMessage } from './failures';
import { changeWorkflowId } from './ids';
import { CHANGES, ROLLBACKS, count } from './metrics';
import {
  applyUpdate,
  changeFinishedSignal,
  cloudStateQuery,
  revisionQuery,
  rollbackUpdate,
  syncStoreSignal,
  type ChangeAccepted,
} from './messages';
import type { RollbackRequest } from './messagePayloads';
import { RECORD_STORE_PATCH } from './patches';
import { messagePayloads, recordSchema, recordValidation } from './schemas';
import type {
  ActiveChange,
  ChangeResult,
  CloudState,
  LegacyCloudState,
  Revision,
  RevisionOutcome,
  ServiceResult,
} from './types';

export interface CloudWorkflowInput {
  name: string;
  /** Carried over by continue-as-new (older versions carried a LegacyCloudState: moved to the store). */
  state?: CloudState | LegacyCloudState;
  /** Continue-as-new once the history is this long and the cloud is idle (tests set it low). */
  maxHistoryEvents?: number;
}

/** Continue-as-new well before Temporal's history warnings (10,240 events). */
const DEFAULT_MAX_HISTORY_EVENTS = 5_000;
const MAX_HISTORY_BYTES = 8 * 1024 * 1024;
/** Legacy history moves into the store in chunks well under Temporal's 2 MB payload limit. */
const IMPORT_CHUNK_BYTES = 512 * 1024;

function isLegacy(state: CloudState | LegacyCloudState): state is LegacyCloudState {
  return Array.isArray((state as LegacyCloudState).revisions);
}

/** A revision as the workflow keeps it: per-service results live in the store only. */
function withoutResults(revision: Revision): Revision {
  const { services: _services, ...rest } = revision;
  return rest;
}

function fromLegacy(legacy: LegacyCloudState): CloudState {
  const current = legacy.revisions.find((r) => r.number === legacy.current);
  return {
    name: legacy.name,
    last: legacy.revisions.at(-1)?.number ?? 0,
    current: current ? withoutResults(current) : null,
    active: legacy.active,
  };
}

/** A record with this schema revision's defaults filled in (parsing a normalised record changes nothing). */
function normalise(record: CloudRecord): CloudRecord {
  return recordSchema().CloudRecordSchema.parse(record);
}

export async function cloudWorkflow(input: CloudWorkflowInput): Promise<void> {
  const carried = input.state;
  const state: CloudState = !carried
    ? { name: input.name, last: 0, current: null, active: null }
    : isLegacy(carried)
      ? fromLegacy(carried)
      : carried;
  const maxHistoryEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  /**
   * Revisions held in memory until this run knows it may use the store: a history written by a
   * version before the store replays without store activities (it has none), and what it kept moves
   * into the store at the first step taken by this code. A run started from this code's own state
   * uses the store from the start.
   */
  let legacy: Revision[] | null = !carried ? [] : isLegacy(carried) ? carried.revisions : null;
  let migration: Promise<void> | null = null;
  /** The revision being carried out (its record is what `current` becomes if it applies). */
  let running: Revision | null = carried && !isLegacy(carried) ? (carried.running ?? null) : null;
  // Decided before any handler runs: an update delivered with the start sets `active` too.
  const handedOver =
    running && state.active?.revision === running.number
      ? { revision: running, workflowId: state.active.workflowId }
      : null;
  let pending: Revision | null = null;
  let startedRevision = 0;
  let finishedRevision = 0;
  let wake = false;

  const useStore = async (): Promise<boolean> => {
    if (legacy === null) return true;
    if (migration === null) {
      if (!patched(RECORD_STORE_PATCH)) return false;
      const toImport = legacy;
      migration = (async () => {
        let chunk: Revision[] = [];
        let bytes = 0;
        const flush = async () => {
          if (chunk.length)
            await recordingLocal.storeImportRevisions({ cloud: state.name, revisions: chunk });
          chunk = [];
          bytes = 0;
        };
        for (const revision of toImport) {
          const size = JSON.stringify(revision).length;
          if (bytes + size > IMPORT_CHUNK_BYTES) await flush();
          chunk.push(revision);
          bytes += size;
        }
        await flush();
        if (toImport.length)
          log.info('moved revisions into the record store', { revisions: toImport.length });
        legacy = null;
      })();
    }
    await migration;
    return true;
  };

  const refuseIfBusy = (): void => {
    const a = state.active;
    if (a) {
      throw failure(
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
    const number = state.last + 1;
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
    state.last = number;
    legacy?.push(revision);
    state.active = { revision: number, workflowId, kind, author, message, startedAt: createdAt };
    running = revision;
    pending = revision;
    await condition(() => startedRevision >= number);
    return { revision: number, workflowId };
  };

  /** A change ended: from its signal (the moment its outcome is visible) or, failing that, its result. */
  const finish = (
    number: number,
    outcome: Exclude<RevisionOutcome, 'in-progress'>,
    reason?: string,
    services?: ServiceResult[],
  ) => {
    if (finishedRevision >= number) return;
    finishedRevision = number;
    const revision = running?.number === number ? running : legacy?.find((r) => r.number === number);
    if (revision) {
      revision.outcome = outcome;
      revision.reason = reason;
      revision.finishedAt = new Date().toISOString();
      if (legacy && services) revision.services = services;
      if (outcome === 'applied') state.current = withoutResults(revision);
    }
    if (state.active?.revision === number) state.active = null;
    log.info('revision finished', { revision: number, outcome, reason });
  };

  setHandler(cloudStateQuery, () => ({
    name: state.name,
    last: state.last,
    current: state.current?.number ?? null,
    active: state.active,
  }));
  setHandler(revisionQuery, (n) =>
    n === state.current?.number
      ? state.current
      : n === running?.number
        ? withoutResults(running)
        : (legacy?.find((r) => r.number === n) ?? null),
  );
  setHandler(changeFinishedSignal, (f) => finish(f.revision, f.outcome, f.reason));
  setHandler(syncStoreSignal, () => {
    wake = true;
  });

  setHandler(
    applyUpdate,
    async (payload) => {
      const p = messagePayloads().ApplyPayload.parse(payload);
      return accept(recordSchema().CloudRecordSchema.parse(p.record), 'apply', p.author, p.message);
    },
    {
      validator: (payload) => {
        const p = parsePayload(messagePayloads().ApplyPayload, payload, 'apply');
        const checked = recordValidation().validateRecord(p.record);
        if (!checked.ok) {
          throw failure('INVALID_RECORD', `invalid deployment record: ${formatIssues(checked.issues)}`, {
            issues: checked.issues,
          });
        }
        if (checked.record.metadata.name !== state.name) {
          throw failure(
            'INVALID_RECORD',
            `the record is for cloud "${checked.record.metadata.name}", not "${state.name}"`,
          );
        }
        refuseIfBusy();
      },
    },
  );

  /** What a rollback needs of the current revision; the checks a validator can make without the store. */
  const rollbackBase = (p: RollbackRequest) => {
    const current = state.current;
    if (!current) throw failure('NOT_FOUND', `cloud ${state.name} has no applied revision to roll back from`);
    const spec = current.record.spec.services.find((s) => s.name === p.service);
    if (!spec) {
      throw failure(
        'NOT_FOUND',
        `service ${p.service} is not in the current revision ${current.number} (services: ${current.record.spec.services.map((s) => s.name).join(', ')})`,
      );
    }
    return { current, spec };
  };

  /** The record a rollback applies: the current record with one service's spec from an earlier revision. */
  const rollbackRecord = async (
    p: RollbackRequest,
  ): Promise<{ record: CloudRecord; toRevision: number; restoreFrom?: number }> => {
    const { current, spec } = rollbackBase(p);
    let source: { number: number; spec: typeof spec; restoreFrom?: number };
    if (await useStore()) {
      try {
        source = await recordingLocal.storeRollbackSource({
          cloud: state.name,
          service: p.service,
          current: current.number,
          currentSpec: spec,
          toRevision: p.toRevision,
          // Sent only when asked: inputs of older rollbacks stay as they were.
          ...(p.restoreDatabase && { restoreDatabase: true }),
        });
      } catch (error) {
        const cause = error instanceof ActivityFailure ? error.cause : error;
        if (cause instanceof ApplicationFailure)
          throw failure(failureType(cause.type) ?? 'NOT_FOUND', cause.message);
        throw error;
      }
    } else {
      if (p.restoreDatabase)
        throw failure('INVALID_INPUT', 'restoring a database needs the record store (PATCHBAY_DATABASE_URL)');
      source = legacySource(legacy ?? [], p, current, spec);
    }
    const record: CloudRecord = {
      ...current.record,
      spec: {
        ...current.record.spec,
        services: current.record.spec.services.map((s) => (s.name === p.service ? source.spec : s)),
      },
    };
    return {
      record,
      toRevision: source.number,
      ...(source.restoreFrom !== undefined && { restoreFrom: source.restoreFrom }),
    };
  };

  setHandler(
    rollbackUpdate,
    async (payload) => {
      const p = messagePayloads().RollbackPayload.parse(payload);
      const { record, toRevision, restoreFrom } = await rollbackRecord(p);
      const restoring =
        restoreFrom !== undefined ? ` restoring its database (snapshot of revision ${restoreFrom})` : '';
      const message = p.message || `rollback ${p.service} to revision ${toRevision}${restoring}`;
      return accept(record, 'rollback', p.author, message, {
        service: p.service,
        toRevision,
        ...(restoreFrom !== undefined && { restoreFrom }),
      });
    },
    {
      validator: (payload) => {
        const p = parsePayload(messagePayloads().RollbackPayload, payload, 'rollback');
        refuseIfBusy();
        rollbackBase(p);
      },
    },
  );

  /** Big records make big histories: bound bytes too (Temporal warns at 10 MB, stops at 50 MB). */
  const tooLong = () => {
    const info = workflowInfo();
    return info.historyLength > maxHistoryEvents || info.historySize > MAX_HISTORY_BYTES;
  };
  const idleTooLong = () => tooLong() && !state.active && pending === null;

  /** The outcome of a change this run did not start (handed over by the previous run). */
  const awaitHandedOver = async (revision: Revision, workflowId: string): Promise<void> => {
    // The change signals its outcome; should it end without doing so (terminated by hand), ask Temporal.
    while (finishedRevision < revision.number) {
      if (await condition(() => finishedRevision >= revision.number, '1 minute')) break;
      const ended = await recordingLocal.changeOutcome({ workflowId });
      if (!ended) continue;
      await recordingLocal.storeRevisionFinished({
        cloud: state.name,
        number: revision.number,
        outcome: ended.outcome,
        reason: ended.reason,
        services: ended.services,
        finishedAt: new Date().toISOString(),
      });
      finish(revision.number, ended.outcome, ended.reason);
    }
  };

  if (handedOver) await awaitHandedOver(handedOver.revision, handedOver.workflowId);

  for (;;) {
    await condition(() => pending !== null || wake || idleTooLong());
    wake = false;
    const revision = pending as Revision | null;
    if (!revision) {
      const store = await useStore(); // a woken cloud from before the store moves its history there now
      if (!idleTooLong()) continue;
      await condition(allHandlersFinished);
      log.info('continuing as new to bound history', { last: state.last });
      const next: CloudState | LegacyCloudState = store
        ? { ...state, running: null }
        : {
            name: state.name,
            revisions: legacy ?? [],
            current: state.current?.number ?? null,
            active: state.active,
          };
      return continueAsNew<typeof cloudWorkflow>({ name: state.name, state: next, maxHistoryEvents });
    }
    pending = null;
    const previous = state.current;
    const store = await useStore();
    if (store) {
      await recordingLocal.storeRevisionAccepted({
        cloud: state.name,
        number: revision.number,
        kind: revision.rollbackOf ? 'rollback' : 'apply',
        record: revision.record,
        author: revision.author,
        message: revision.message,
        workflowId: changeWorkflowId(state.name, revision.number),
        createdAt: revision.createdAt,
        rollbackOf: revision.rollbackOf,
      });
    }
    let result: ChangeResult;
    const change = await startChild(changeWorkflow, {
      workflowId: changeWorkflowId(state.name, revision.number),
      // A change runs to its end whatever happens to this run (continue-as-new hands it over).
      parentClosePolicy: 'ABANDON',
      args: [
        {
          cloud: state.name,
          revision: revision.number,
          previousRevision: previous?.number ?? null,
          // Normalised here (a record carried from an older version's run may lack newer defaults), so
          // the change and its service workflows need not parse them, nor load zod.
          from: previous ? normalise(previous.record) : null,
          to: normalise(revision.record),
          recordSchema: RECORD_SCHEMA_REVISION,
          ...(revision.rollbackOf && { rollback: revision.rollbackOf }),
        },
      ],
    });
    startedRevision = revision.number; // the client can now await the change workflow by id
    if (revision.rollbackOf)
      count(ROLLBACKS, { cloud: state.name, service: revision.rollbackOf.service, kind: 'on-demand' });
    if (store && tooLong()) {
      // Back-to-back applies may leave no idle moment: continue as new now, handing the running
      // change to the next run, which awaits its outcome (history stays bounded whatever the rate).
      await condition(allHandlersFinished);
      log.info('continuing as new with a change running', { revision: revision.number });
      return continueAsNew<typeof cloudWorkflow>({
        name: state.name,
        state: { ...state, running: withoutResults(revision) },
        maxHistoryEvents,
      });
    }
    try {
      result = await change.result();
    } catch (error) {
      result = { revision: revision.number, outcome: 'failed', reason: failureMessage(error), services: [] };
      count(CHANGES, { cloud: state.name, outcome: 'failed' }); // the change could not count itself
    }
    if (finishedRevision < revision.number) {
      // The change did not report itself (it failed, or it ran code from before the store): record it here.
      if (await useStore()) {
        await recordingLocal.storeRevisionFinished({
          cloud: state.name,
          number: revision.number,
          outcome: result.outcome,
          reason: result.reason,
          services: result.services,
          finishedAt: new Date().toISOString(),
        });
      }
      finish(revision.number, result.outcome, result.reason, result.services);
    } else if (legacy) {
      const kept = legacy.find((r) => r.number === revision.number);
      if (kept) kept.services = result.services;
    }
  }
}

/** Before the store: the rollback source searched in the revisions the workflow kept. */
function legacySource(
  revisions: Revision[],
  p: RollbackRequest,
  current: Revision,
  spec: CloudRecord['spec']['services'][number],
): { number: number; spec: CloudRecord['spec']['services'][number] } {
  let source: Revision | undefined;
  if (p.toRevision !== undefined) {
    source = revisions.find((r) => r.number === p.toRevision);
    if (!source)
      throw failure('NOT_FOUND', `cloud ${current.record.metadata.name} has no revision ${p.toRevision}`);
    if (source.outcome !== 'applied')
      throw failure(
        'INVALID_INPUT',
        `revision ${source.number} never applied (${source.outcome}); choose an applied revision`,
      );
  } else {
    source = [...revisions]
      .reverse()
      .find(
        (r) =>
          r.number < current.number &&
          r.outcome === 'applied' &&
          canonicalJson(r.record.spec.services.find((s) => s.name === p.service) ?? null) !==
            canonicalJson(spec),
      );
    if (!source)
      throw failure('NOT_FOUND', `no earlier applied revision has a different spec for service ${p.service}`);
  }
  const earlier = source.record.spec.services.find((s) => s.name === p.service);
  if (!earlier) throw failure('NOT_FOUND', `service ${p.service} is not in revision ${source.number}`);
  return { number: source.number, spec: earlier };
}
