// The in-memory runtime (fakeRuntime.ts) with scripted failures and a journal, for the fast workflow
// tests: a test says which activity fails for which instance (how often, retryable or not), which
// instance dies during its bake, and reads back what happened — every call in order, and the most
// instances of a service that were ever out of service at once.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { failure, type FailureType } from '../../src/lib/failures';
import type { DockerActivities } from '../../src/activities/dockerActivities';
import type {
  BakeInput,
  CommitInput,
  HealthGateInput,
  JobInput,
  JobResult,
  LbTarget,
  PreflightInput,
  RestoreInput,
  RetireInput,
  StartInput,
} from '../../src/activities/types';
import { activeContainerName } from '../../src/record/identity';
import { createFakeRuntimeActivities } from './fakeRuntime';

export type RuntimeOp =
  | 'preflightService'
  | 'observeService'
  | 'retireInstance'
  | 'startInstance'
  | 'waitHealthy'
  | 'bakeInstance'
  | 'restoreInstance'
  | 'commitInstance'
  | 'runJob'
  | 'lbCheck'
  | 'lbDrain'
  | 'lbEnable';

/**
 * What a captured job prints: a snapshot its checksum line (a digest made of the revision), a rows
 * job one line per table (rows grow with the revision, as a database's writes would), others "ok".
 */
function scriptedJobOutput(input: JobInput): string {
  if (input.job.name === 'migrate-snapshot')
    return `dumped\npatchbay-snapshot sha256=${String(input.revision).padStart(64, '0')} bytes=${1000 + input.revision}`;
  if (input.job.name === 'migrate-rows') return `users ${10 * input.revision}\ntokens ${input.revision}`;
  return `${input.job.name} r${input.revision}: ok`;
}

export interface Fault {
  op: RuntimeOp;
  /** Only for this service / instance ("<host>-<port>") / cloud; any when unset. */
  service?: string;
  instance?: string;
  cloud?: string;
  /** How many calls fail (default: every one until cleared). */
  times?: number;
  /** Retryable failures are retried by the activity's retry policy (5 attempts); default: not retryable. */
  retryable?: boolean;
  /** The failure type (default INTERNAL). */
  type?: FailureType;
  message?: string;
  /** The failure's details (its first), e.g. `{ host }` for HOST_UNREACHABLE as explainPickup sends it. */
  details?: unknown;
}

export interface JournalEntry {
  op: RuntimeOp;
  cloud?: string;
  service?: string;
  instance?: string;
  revision?: number;
  /** What the call did: ok, failed, an outcome. */
  outcome: string;
  /** When the attempt was scheduled, in the test server's (skipped) time; and which attempt it was. */
  at: number;
  attempt: number;
}

interface Target {
  cloud?: string;
  service?: string;
  instance?: string;
  revision?: number;
}

type Runtime = ReturnType<typeof createFakeRuntimeActivities>;
type Fn<K extends keyof DockerActivities> = NonNullable<DockerActivities[K]>;

export function createScriptedRuntime() {
  const base: Runtime = createFakeRuntimeActivities();
  const fakes = base.activities as Required<Pick<DockerActivities, keyof DockerActivities>>;
  const faults: Array<Fault & { left: number }> = [];
  const bakeDeaths: Array<{ service?: string; instance?: string; left: number }> = [];
  const journal: JournalEntry[] = [];
  /** Instances out of service now, and the most there ever were, per cloud/service. */
  const out = new Map<string, Set<string>>();
  const maxOut = new Map<string, number>();

  const matches = (f: { service?: string; instance?: string; cloud?: string }, t: Target) =>
    (f.service === undefined || f.service === t.service) &&
    (f.instance === undefined || f.instance === t.instance) &&
    (f.cloud === undefined || f.cloud === t.cloud);

  const when = (): { at: number; attempt: number } => {
    const info = Context.current().info;
    return { at: info.currentAttemptScheduledTimestampMs, attempt: info.attempt };
  };

  /** Throws the first scripted fault that applies to this call (and counts it down). */
  const injected = async (op: RuntimeOp, t: Target): Promise<void> => {
    const fault = faults.find((f) => f.op === op && f.left > 0 && matches(f, t));
    if (!fault) return;
    fault.left--;
    const message =
      fault.message ?? `${op} failed for ${t.service ?? '?'}/${t.instance ?? '?'} (scripted fault)`;
    journal.push({ op, ...t, outcome: `fault: ${message}`, ...when() });
    throw ApplicationFailure.create({
      message,
      type: fault.type ?? 'INTERNAL',
      nonRetryable: !fault.retryable,
      details: fault.details === undefined ? [] : [fault.details],
    });
  };

  const serviceKey = (t: Target) => `${t.cloud}/${t.service}`;
  const takeOut = (t: Target): void => {
    const key = serviceKey(t);
    const set = out.get(key) ?? new Set<string>();
    out.set(key, set);
    set.add(t.instance as string);
    maxOut.set(key, Math.max(maxOut.get(key) ?? 0, set.size));
  };
  const putBack = (t: Target): void => {
    out.get(serviceKey(t))?.delete(t.instance as string);
  };

  /** Runs one activity of the base fake, with faults and the journal. */
  async function step<T>(op: RuntimeOp, t: Target, run: () => Promise<T>, outcome?: (r: T) => string) {
    await injected(op, t);
    try {
      const result = await run();
      journal.push({ op, ...t, outcome: outcome ? outcome(result) : 'ok', ...when() });
      return result;
    } catch (error) {
      journal.push({ op, ...t, outcome: `failed: ${(error as Error).message}`, ...when() });
      throw error;
    }
  }
  const refTarget = (
    input: { ref: { cloud: string; service: string; instance: string } },
    revision?: number,
  ) => ({
    cloud: input.ref.cloud,
    service: input.ref.service,
    instance: input.ref.instance,
    ...(revision !== undefined ? { revision } : {}),
  });

  const activities = {
    ...base.activities,
    async preflightService(input: PreflightInput): Promise<void> {
      await step('preflightService', { cloud: input.cloud, service: input.service.name }, async () => {});
    },
    async observeService(input: Parameters<Fn<'observeService'>>[0]) {
      return step('observeService', { cloud: input.cloud, service: input.service }, () =>
        fakes.observeService(input),
      );
    },
    async retireInstance(input: RetireInput) {
      const t = refTarget(input, input.revision);
      return step(
        'retireInstance',
        t,
        async () => {
          const retired = await fakes.retireInstance(input);
          if (retired.retiredName) takeOut(t);
          return retired;
        },
        (r) => r.retiredName ?? 'nothing to retire',
      );
    },
    async startInstance(input: StartInput) {
      return step('startInstance', refTarget(input, input.revision), () => fakes.startInstance(input));
    },
    async waitHealthy(input: HealthGateInput) {
      const t = refTarget(input);
      return step('waitHealthy', t, async () => {
        const gated = await fakes.waitHealthy(input);
        putBack(t);
        return gated;
      });
    },
    /** The bake passes at once (its length is the runtime's business); an instance may die during it. */
    async bakeInstance(input: BakeInput) {
      const t = refTarget(input);
      return step('bakeInstance', t, async () => {
        const death = bakeDeaths.find((d) => d.left > 0 && matches(d, t));
        if (death) {
          death.left--;
          const name = activeContainerName(input.ref.cloud, input.ref.service, input.ref.instance);
          const c = base.containers.get(name);
          if (c) c.running = false;
          takeOut(t);
          throw failure(
            'BAKE_FAILED',
            `instance ${input.ref.service}/${input.ref.instance} died during its bake (container exited, fake runtime)`,
          );
        }
        return { bakedMs: input.bakeMs };
      });
    },
    async restoreInstance(input: RestoreInput) {
      const t = refTarget(input, input.revision);
      return step(
        'restoreInstance',
        t,
        async () => {
          const restored = await fakes.restoreInstance(input);
          // A restored kept container serves again once its health gate passes (the workflow gates it).
          if (restored.outcome === 'removed') putBack(t);
          return restored;
        },
        (r) => r.outcome,
      );
    },
    async commitInstance(input: CommitInput) {
      return step('commitInstance', refTarget(input), () => fakes.commitInstance(input));
    },
    // Journalled with the job's name as the instance: faults and calls() pick a job by it.
    async runJob(input: JobInput): Promise<JobResult> {
      return step(
        'runJob',
        { cloud: input.cloud, service: input.service, revision: input.revision, instance: input.job.name },
        async () => ({
          job: input.job.name,
          phase: input.phase,
          exitCode: 0,
          durationMs: 0,
          ...(input.capture && {
            startedAt: new Date(Context.current().info.currentAttemptScheduledTimestampMs).toISOString(),
            output: scriptedJobOutput(input),
          }),
        }),
      );
    },
    async lbCheck(targets: LbTarget[]): Promise<void> {
      await step(
        'lbCheck',
        { instance: targets.map((t) => `${t.backend}/${t.server}`).join(',') },
        async () => {},
      );
    },
    async lbDrain(target: LbTarget) {
      return step('lbDrain', { instance: `${target.backend}/${target.server}` }, async () => ({
        waitedMs: 0,
        sessionsCut: 0,
      }));
    },
    async lbEnable(target: LbTarget & { upTimeoutMs: number }) {
      return step('lbEnable', { instance: `${target.backend}/${target.server}` }, async () => ({
        status: 'UP',
      }));
    },
  };

  return {
    activities,
    containers: base.containers,
    journal,
    /** Scripts a failure; returns a function that clears it. */
    fail(fault: Fault): () => void {
      const entry = { ...fault, left: fault.times ?? Number.POSITIVE_INFINITY };
      faults.push(entry);
      return () => {
        entry.left = 0;
      };
    },
    /** The instance's new container exits halfway through its bake (once). */
    dieDuringBake(where: { service?: string; instance?: string }): void {
      bakeDeaths.push({ ...where, left: 1 });
    },
    /** The most instances of a service that were out of service at the same time. */
    maxOutOfService(cloud: string, service: string): number {
      return maxOut.get(`${cloud}/${service}`) ?? 0;
    },
    /** The journal of one cloud (or of calls without a cloud, such as the load-balancer ones). */
    calls(cloud: string, op?: RuntimeOp): JournalEntry[] {
      return journal.filter((e) => e.cloud === cloud && (op === undefined || e.op === op));
    },
  };
}

export type ScriptedRuntime = ReturnType<typeof createScriptedRuntime>;
