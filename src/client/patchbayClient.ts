// The library behind the CLI (and for other programs): talks to the cloud workflows through the
// documented updates and queries. It never prints; the CLI does.
import {
  Client,
  Connection,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { PatchbayError, type ErrorCode } from '../lib/errors';
import type { TemporalConfig } from '../lib/config';
import type { CloudRecord } from '../record/schema';
import { cloudWorkflow } from '../workflows/cloud';
import { cloudWorkflowId } from '../workflows/ids';
import {
  applyUpdate,
  changeProgressQuery,
  cloudStateQuery,
  resolveUpdate,
  rollbackUpdate,
  serviceProgressQuery,
  type ChangeAccepted,
  type ResolvePayload,
} from '../workflows/messages';
import type { ChangeProgress, ChangeResult, CloudState, ServiceProgress } from '../workflows/types';

const KNOWN_CODES: ErrorCode[] = [
  'INVALID_RECORD',
  'INVALID_INPUT',
  'CLOUD_BUSY',
  'NOT_FOUND',
  'PREFLIGHT_FAILED',
];

/** Update rejections carry an ApplicationFailure whose type is one of our error codes. */
function translate(error: unknown): unknown {
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
    const type = error.cause.type as ErrorCode;
    const details = (error.cause.details?.[0] ?? {}) as Record<string, unknown>;
    return new PatchbayError(
      KNOWN_CODES.includes(type) ? type : 'INVALID_INPUT',
      error.cause.message,
      details,
    );
  }
  return error;
}

export interface ChangeWatch {
  change: ChangeProgress | null;
  services: ServiceProgress[];
}

export class PatchbayClient {
  private constructor(
    readonly client: Client,
    readonly config: TemporalConfig,
  ) {}

  static async connect(config: TemporalConfig): Promise<PatchbayClient> {
    let connection: Connection;
    try {
      connection = await Connection.connect({ ...config.connection, connectTimeout: 5_000 });
    } catch (error) {
      const hint = config.embedded
        ? 'start the embedded stack with "npx patchbay dev" (or set TEMPORAL_ADDRESS to your cluster)'
        : 'check TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and the TLS/API key settings';
      throw new PatchbayError(
        'ENVIRONMENT',
        `cannot reach Temporal at ${config.address}: ${(error as Error).message}; ${hint}`,
      );
    }
    return new PatchbayClient(new Client({ connection, namespace: config.namespace }), config);
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }

  /** Sends a record as the next revision of its cloud, starting the cloud's workflow if it is new. */
  async apply(record: CloudRecord, options: { message: string; author: string }): Promise<ChangeAccepted> {
    const name = record.metadata.name;
    const start = new WithStartWorkflowOperation(cloudWorkflow, {
      workflowId: cloudWorkflowId(name),
      taskQueue: this.config.taskQueue,
      args: [{ name }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    try {
      return await this.client.workflow.executeUpdateWithStart(applyUpdate, {
        args: [{ record, message: options.message, author: options.author }],
        startWorkflowOperation: start,
      });
    } catch (error) {
      throw translate(error);
    }
  }

  async rollback(
    cloud: string,
    options: { service: string; toRevision?: number; message: string; author: string },
  ): Promise<ChangeAccepted> {
    await this.requireCloud(cloud);
    try {
      return await this.client.workflow.getHandle(cloudWorkflowId(cloud)).executeUpdate(rollbackUpdate, {
        args: [options],
      });
    } catch (error) {
      throw translate(error);
    }
  }

  /** The cloud's state, or null when Patchbay has never applied a record for it. */
  async state(cloud: string): Promise<CloudState | null> {
    try {
      return await this.client.workflow.getHandle(cloudWorkflowId(cloud)).query(cloudStateQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError || (isGrpcServiceError(error) && error.code === 5))
        return null;
      throw error;
    }
  }

  async requireCloud(cloud: string): Promise<CloudState> {
    const state = await this.state(cloud);
    if (!state)
      throw new PatchbayError(
        'NOT_FOUND',
        `Patchbay manages no cloud named "${cloud}" here (${this.config.address})`,
      );
    return state;
  }

  /**
   * Waits for a change, calling onProgress with its live per-service and per-instance state. It
   * returns once the cloud workflow has recorded the outcome, so a next change is accepted at once.
   */
  async waitForChange(
    cloud: string,
    accepted: ChangeAccepted,
    onProgress?: (watch: ChangeWatch) => void,
    pollMs = 500,
  ): Promise<ChangeResult> {
    const handle = this.client.workflow.getHandle(accepted.workflowId);
    const result = handle.result() as Promise<ChangeResult>;
    let finished = false;
    void result.finally(() => (finished = true)).catch(() => undefined);
    while (!finished && onProgress) {
      onProgress(await this.watchChange(accepted.workflowId));
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, pollMs))]);
    }
    const outcome = await result;
    // The last poll may predate the final phases: finish the live view from the result itself.
    onProgress?.({
      change: null,
      services: outcome.services.map((s) => ({
        service: s.service,
        action: s.action,
        instances: s.instances,
        blocked: null,
      })),
    });
    for (let waited = 0; waited < 30_000; waited += 50) {
      const state = await this.state(cloud);
      if (state?.active?.revision !== accepted.revision) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return outcome;
  }

  async watchChange(workflowId: string): Promise<ChangeWatch> {
    const watch: ChangeWatch = { change: null, services: [] };
    try {
      watch.change = await this.client.workflow.getHandle(workflowId).query(changeProgressQuery);
    } catch {
      return watch; // not started yet, or already gone
    }
    for (const s of watch.change.services.filter((s) => s.status !== 'pending')) {
      try {
        watch.services.push(await this.client.workflow.getHandle(s.workflowId).query(serviceProgressQuery));
      } catch {
        // a finished child may be closed; its result is in the change result
      }
    }
    return watch;
  }

  /** Sends an operator's decision to the service workflow of the cloud's running change that waits for one. */
  async resolve(cloud: string, payload: ResolvePayload): Promise<{ workflowId: string; accepted: string }> {
    const state = await this.requireCloud(cloud);
    if (!state.active) throw new PatchbayError('NOT_FOUND', `cloud ${cloud} has no running change`);
    const watch = await this.watchChange(state.active.workflowId);
    const blocked = watch.services.find((s) => s.blocked);
    if (!blocked) {
      throw new PatchbayError(
        'INVALID_INPUT',
        `revision ${state.active.revision} of cloud ${cloud} is not waiting for an operator`,
      );
    }
    const workflowId = watch.change?.services.find((s) => s.service === blocked.service)
      ?.workflowId as string;
    try {
      const out = await this.client.workflow
        .getHandle(workflowId)
        .executeUpdate(resolveUpdate, { args: [payload] });
      return { workflowId, accepted: out.accepted };
    } catch (error) {
      throw translate(error);
    }
  }
}
