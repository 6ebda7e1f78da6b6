// `patchbay doctor`: what this machine's settings reach and what is missing before Patchbay can run
// there — Temporal (address, TLS), the namespace, Patchbay's search attributes, the dynamic config it
// relies on (eager activities, probed for real), a worker on the task queue, and the record store.
// It reads and probes; with `fix` it registers missing search attributes and nothing else.
import { randomUUID } from 'node:crypto';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { TemporalConfig } from '../lib/config';
import { PatchbayError } from '../lib/errors';
import { addSearchAttributes, missingSearchAttributes } from '../lib/searchAttributeSetup';
import { connectError } from '../lib/temporalReach';
import { redactUrl } from '../store/config';
import { storeSchemaStatus } from '../store/migrate';
import { SEARCH_ATTRIBUTES } from '../workflows/searchAttributes';

export type CheckName =
  'temporal' | 'namespace' | 'search-attributes' | 'dynamic-config' | 'workers' | 'record-store';

export interface DoctorCheck {
  name: CheckName;
  /** ok: as Patchbay needs it; missing: Patchbay cannot run (exit 1); warn: runs, but see detail. */
  status: 'ok' | 'missing' | 'warn' | 'skipped';
  detail: string;
  /** What to run to fix it. */
  fix?: string;
}

export interface DoctorReport {
  address: string;
  namespace: string;
  taskQueue: string;
  tls: TemporalConfig['tlsMode'];
  ok: boolean;
  checks: DoctorCheck[];
}

const { CommandType, TaskQueueKind, TaskQueueType } = temporal.api.enums.v1;
const NOT_FOUND = 5;
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Whether the server hands out activities eagerly (system.enableActivityEagerExecution): start a
 * throw-away workflow on a task queue of its own, take its first workflow task by hand, schedule an
 * activity asking for eager execution, and see whether the answer carries the activity. The probe
 * workflow is terminated after.
 */
async function probeEagerActivities(connection: Connection, namespace: string): Promise<boolean> {
  const service = connection.workflowService;
  const id = randomUUID();
  const taskQueue = { name: `patchbay-doctor-${id}`, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL };
  const workflowId = `patchbay-doctor:${id}`;
  const identity = `patchbay-doctor@${process.pid}`;
  await service.startWorkflowExecution({
    namespace,
    workflowId,
    workflowType: { name: 'patchbayDoctorProbe' },
    taskQueue,
    identity,
    requestId: id,
    workflowExecutionTimeout: msToTs('60s'),
  });
  try {
    // A long poll: the server wants a deadline, and the task is already there.
    const task = await connection.withDeadline(Date.now() + PROBE_TIMEOUT_MS, () =>
      service.pollWorkflowTaskQueue({ namespace, taskQueue, identity }),
    );
    if (!task.taskToken?.length) throw new Error('the probe workflow task did not arrive');
    const completed: temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedResponse =
      await service.respondWorkflowTaskCompleted({
        namespace,
        taskToken: task.taskToken,
        identity,
        commands: [
          {
            commandType: CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
            scheduleActivityTaskCommandAttributes: {
              activityId: '1',
              activityType: { name: 'patchbayDoctorProbe' },
              taskQueue,
              startToCloseTimeout: msToTs('10s'),
              scheduleToCloseTimeout: msToTs('30s'),
              requestEagerExecution: true,
            },
          },
        ],
      });
    return (completed.activityTasks?.length ?? 0) > 0;
  } finally {
    await service
      .terminateWorkflowExecution({
        namespace,
        workflowExecution: { workflowId },
        reason: 'patchbay doctor probe done',
        identity,
      })
      .catch(() => undefined);
  }
}

async function temporalChecks(
  config: TemporalConfig,
  options: { fix?: boolean },
  checks: DoctorCheck[],
): Promise<void> {
  const skip = (names: CheckName[], why: string) =>
    names.forEach((name) => checks.push({ name, status: 'skipped', detail: why }));
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...config.connection, connectTimeout: 5_000 });
  } catch (error) {
    const problem = await connectError(config, error);
    checks.push({ name: 'temporal', status: 'missing', detail: problem.message });
    skip(['namespace', 'search-attributes', 'dynamic-config', 'workers'], 'Temporal not reached');
    return;
  }
  try {
    const info = await connection.workflowService.getClusterInfo({});
    checks.push({
      name: 'temporal',
      status: 'ok',
      detail:
        `Temporal ${info.serverVersion} at ${config.address} (${config.tlsMode === 'none' ? 'plaintext' : config.tlsMode}), ` +
        `cluster ${info.clusterName}, persistence ${info.persistenceStore}, visibility ${info.visibilityStore}`,
    });
    const namespace = config.namespace;
    try {
      const described = await connection.workflowService.describeNamespace({ namespace });
      const retention = Number(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
      checks.push({
        name: 'namespace',
        status: 'ok',
        detail: `${namespace} (retention ${Math.round(retention / 86_400)} d)`,
      });
    } catch (error) {
      if (isGrpcServiceError(error) && error.code === NOT_FOUND) {
        checks.push({
          name: 'namespace',
          status: 'missing',
          detail: `namespace ${namespace} does not exist`,
          fix: `temporal operator namespace create --namespace ${namespace} --retention 30d`,
        });
        skip(['search-attributes', 'dynamic-config', 'workers'], `namespace ${namespace} missing`);
        return;
      }
      throw error;
    }

    let missing = await missingSearchAttributes(connection, namespace);
    let registered: string[] = [];
    if (missing.length && options.fix) {
      await addSearchAttributes(connection, namespace, missing);
      registered = missing.map(([name]) => name);
      missing = [];
    }
    checks.push(
      missing.length
        ? {
            name: 'search-attributes',
            status: 'missing',
            detail: `missing ${missing.map(([n, t]) => `${n} (${t})`).join(', ')}: workflows that set them fail`,
            fix:
              'patchbay doctor --fix, or: ' +
              missing
                .map(
                  ([n, t]) =>
                    `temporal operator search-attribute create --namespace ${namespace} --name ${n} --type ${t}`,
                )
                .join('; '),
          }
        : {
            name: 'search-attributes',
            status: 'ok',
            detail: registered.length
              ? `registered ${registered.join(', ')} now; all ${SEARCH_ATTRIBUTES.length} present`
              : `all ${SEARCH_ATTRIBUTES.length} present (${SEARCH_ATTRIBUTES.map(([n]) => n).join(', ')})`,
          },
    );

    try {
      const eager = await probeEagerActivities(connection, namespace);
      checks.push(
        eager
          ? {
              name: 'dynamic-config',
              status: 'ok',
              detail: 'system.enableActivityEagerExecution on (the server handed the probe activity eagerly)',
            }
          : {
              name: 'dynamic-config',
              status: 'warn',
              detail:
                'system.enableActivityEagerExecution off: each activity waits for a poll (slower changes and campaigns, nothing breaks)',
              fix: 'add "system.enableActivityEagerExecution: [{value: true}]" to the server\'s dynamic config file',
            },
      );
    } catch (error) {
      checks.push({
        name: 'dynamic-config',
        status: 'warn',
        detail: `could not probe eager activities: ${(error as Error).message}`,
      });
    }

    const pollers = await connection.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: config.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    const identities = (pollers.pollers ?? []).map((p) => p.identity ?? '?');
    checks.push(
      identities.length
        ? {
            name: 'workers',
            status: 'ok',
            detail: `${identities.length} polling task queue ${config.taskQueue}: ${identities.join(', ')}`,
          }
        : {
            name: 'workers',
            status: 'warn',
            detail: `no worker polls task queue ${config.taskQueue} (changes would wait)`,
            fix: 'patchbay worker (with the same TEMPORAL_* settings)',
          },
    );
  } catch (error) {
    const problem = error instanceof PatchbayError ? error : await connectError(config, error);
    checks.push({ name: 'temporal', status: 'missing', detail: problem.message });
  } finally {
    await connection.close();
  }
}

async function storeCheck(url: string): Promise<DoctorCheck> {
  try {
    const { applied, pending } = await storeSchemaStatus(url);
    return pending.length
      ? {
          name: 'record-store',
          status: 'warn',
          detail: `${redactUrl(url)}: ${pending.length} migration(s) pending (a starting worker applies them)`,
        }
      : {
          name: 'record-store',
          status: 'ok',
          detail: `${redactUrl(url)}: schema up to date (${applied.length} migrations)`,
        };
  } catch (error) {
    return {
      name: 'record-store',
      status: 'missing',
      detail: (error as Error).message,
      fix: 'set PATCHBAY_DATABASE_URL to a PostgreSQL database Patchbay may write (or run "patchbay dev" for the embedded one)',
    };
  }
}

export async function runDoctor(
  config: TemporalConfig,
  options: { fix?: boolean; storeUrl: string },
): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  await temporalChecks(config, options, checks);
  checks.push(await storeCheck(options.storeUrl));
  return {
    address: config.address,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    tls: config.tlsMode,
    ok: checks.every((c) => c.status !== 'missing'),
    checks,
  };
}

export function renderDoctor(report: DoctorReport): string {
  const mark = { ok: 'ok  ', missing: 'FAIL', warn: 'warn', skipped: '--  ' } as const;
  const lines = [
    `Temporal ${report.address}, namespace ${report.namespace}, task queue ${report.taskQueue}, TLS: ${report.tls}`,
  ];
  for (const check of report.checks) {
    lines.push(`  ${mark[check.status]} ${check.name.padEnd(18)} ${check.detail}`);
    if (check.fix && check.status !== 'ok') lines.push(`       ${''.padEnd(18)} fix: ${check.fix}`);
  }
  lines.push(
    report.ok ? 'Patchbay can run here.' : 'Patchbay cannot run here until the FAIL lines are fixed.',
  );
  return lines.join('\n');
}
