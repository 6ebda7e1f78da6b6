// `patchbay plan`: what an apply would do, per service, against the current revision AND what runs.
import { instanceId, instanceSpecHash, imageVersion, kubernetesSpecHash } from '../record/identity';
import type { CloudRecord, ServiceSpec } from '../record/schema';
import { configChanges, type ConfigFileChange } from './configDiff';
import { classify, diffService, nothingExists } from '../workflows/classify';
import { migrationsDue } from '../workflows/migrations';
import { classifyDeployment } from '../workflows/runtimes/kubernetes';
import type { ServiceAction } from '../workflows/types';
import { EMPTY_OBSERVATION, type CloudObservation } from './observeCloud';
import {
  MISSING_DEPLOYMENT,
  type DeploymentObservation,
  type KubernetesObservation,
} from './observeDeployments';

export interface PlannedInstance {
  instance: string;
  change: 'create' | 'replace' | 'repair' | 'remove';
  why: string;
}

export interface PlannedService {
  service: string;
  action: ServiceAction;
  fromVersion: string | null;
  toVersion: string | null;
  instances: PlannedInstance[];
  /** Where what runs differs from the current revision. */
  drift: string[];
  /** Config files the change adds, removes or changes, with a unified diff each. */
  config: ConfigFileChange[];
  /** Set when the change would run the service's migrations (a new image with `migrations`). */
  migrations?: PlannedMigrations;
}

export interface PlannedMigrations {
  /** "<service>/<database>" */
  database: string;
  /** In the order the change runs them, e.g. check, expand, migrate, rolling replace, contract (approval: manual), check. */
  phases: string[];
  /**
   * The revision contracts the schema: once it has, rolling this service back to an earlier
   * revision is refused (SCHEMA_CONTRACTED) unless the database is restored.
   */
  rollbackNeedsRestore: boolean;
}

/** The phases a change with this action would run for a service's migrations, or undefined. */
export function plannedMigrations(
  target: ServiceSpec | null,
  action: ServiceAction,
): PlannedMigrations | undefined {
  const m = migrationsDue(target, action);
  if (!m) return undefined;
  const phases = [
    ...(m.check ? ['check'] : []),
    ...(m.snapshot ? [`snapshot (keep ${m.snapshot.keep})`] : []),
    ...(m.expand ? ['expand'] : []),
    ...(m.migrate ? ['migrate'] : []),
    'rolling replace',
    ...(m.contract ? [`contract (approval: ${m.contract.approval})`] : []),
    ...(m.check && m.contract ? ['check'] : []),
  ];
  return { database: `${m.database.service}/${m.database.name}`, phases, rollbackNeedsRestore: !!m.contract };
}

export function computePlan(
  record: CloudRecord,
  current: CloudRecord | null,
  observed: CloudObservation,
  /** For a Kubernetes cloud: its Deployments (observeDeployments). */
  deployments: KubernetesObservation = new Map(),
): PlannedService[] {
  if (record.spec.runtime.kubernetes) return kubernetesPlan(record, current, deployments);
  const recorded = new Map((current?.spec.services ?? []).map((s) => [s.name, s]));
  const targets = new Map(record.spec.services.map((s) => [s.name, s]));
  const names = [...targets.keys(), ...[...recorded.keys()].filter((n) => !targets.has(n))];
  return names.map((name) => {
    const target = targets.get(name) ?? null;
    const before: ServiceSpec | null = recorded.get(name) ?? null;
    const observation = observed.get(name) ?? EMPTY_OBSERVATION;
    const { replacements, obsolete } = diffService(target, observation);
    const files = configChanges(before, target);
    const instances: PlannedInstance[] = replacements.map((i) => {
      const id = instanceId(i);
      const active = observation.active[id];
      const recordedInstance = before?.instances.find((b) => instanceId(b) === id);
      if (!active) {
        return recordedInstance
          ? { instance: id, change: 'repair', why: 'container missing' }
          : { instance: id, change: 'create', why: 'new instance' };
      }
      if (!active.running) return { instance: id, change: 'repair', why: 'container not running' };
      const matchesRecord =
        recordedInstance && before && active.specHash === instanceSpecHash(before, recordedInstance);
      const toVersion = imageVersion((target as ServiceSpec).image);
      return matchesRecord
        ? {
            instance: id,
            change: 'replace',
            why:
              active.version === toVersion && files.length > 0
                ? `${toVersion}, config changed: ${files.map((f) => f.path).join(', ')}`
                : `${active.version} -> ${toVersion}`,
          }
        : { instance: id, change: 'repair', why: 'running container differs from the current revision' };
    });
    instances.push(
      ...obsolete.map((o) => ({ instance: o.instance, change: 'remove' as const, why: 'not in the record' })),
    );
    const action = classify(target, before, replacements.length, obsolete.length, nothingExists(observation));
    const migrations = plannedMigrations(target, action);
    return {
      service: name,
      action,
      fromVersion: before ? imageVersion(before.image) : null,
      toVersion: target ? imageVersion(target.image) : null,
      instances,
      drift: before ? driftOf(before, observation) : [],
      config: files,
      ...(migrations && { migrations }),
    };
  });
}

/** Differences between a recorded service and what runs for it. */
export function driftOf(recorded: ServiceSpec, observation: typeof EMPTY_OBSERVATION): string[] {
  const drift: string[] = [];
  for (const i of recorded.instances) {
    const id = instanceId(i);
    const active = observation.active[id];
    if (!active) drift.push(`${id}: container missing`);
    else if (!active.running) drift.push(`${id}: container not running`);
    else if (active.specHash !== instanceSpecHash(recorded, i))
      drift.push(`${id}: runs ${active.version}, differs from the record`);
  }
  const ids = new Set(recorded.instances.map(instanceId));
  for (const extra of Object.keys(observation.active).filter((id) => !ids.has(id))) {
    drift.push(`${extra}: container not in the record`);
  }
  return drift;
}

/** What a service's action does to its one Deployment. */
const INSTANCE_CHANGE: Record<ServiceAction, PlannedInstance['change']> = {
  create: 'create',
  remove: 'remove',
  repair: 'repair',
  patch: 'replace',
  update: 'replace',
  unchanged: 'replace', // not listed: an unchanged service has no instance line
};

/**
 * On Kubernetes each service is one Deployment: the plan decides from what runs there, with the same
 * classification the rollout uses, and shows where that differs from the current revision.
 */
function kubernetesPlan(
  record: CloudRecord,
  current: CloudRecord | null,
  deployments: KubernetesObservation,
): PlannedService[] {
  const recorded = new Map((current?.spec.services ?? []).map((s) => [s.name, s]));
  const targets = new Map(record.spec.services.map((s) => [s.name, s]));
  const names = [...targets.keys(), ...[...recorded.keys()].filter((n) => !targets.has(n))];
  return names.map((name) => {
    const target = targets.get(name) ?? null;
    const before = recorded.get(name) ?? null;
    const running = deployments.get(name);
    const action = classifyDeployment(target, running ?? MISSING_DEPLOYMENT);
    const migrations = plannedMigrations(target, action);
    const why: Record<ServiceAction, string> = {
      create: `new Deployment, ${target?.replicas} replicas${before ? ' (the recorded one is missing)' : ''}`,
      patch: `rolling update by Kubernetes, maxUnavailable ${target?.upgrade.maxUnavailable}, maxSurge ${target?.upgrade.maxSurge}`,
      update: 'rolling update by Kubernetes (settings changed)',
      remove: 'Deployment and Service deleted',
      repair: `its rollout is not complete (${running?.rollout.summary ?? '-'}): written again and waited for`,
      unchanged: '',
    };
    return {
      service: name,
      action,
      fromVersion: before ? imageVersion(before.image) : (running?.runningVersion ?? null),
      toVersion: target ? imageVersion(target.image) : null,
      instances:
        action === 'unchanged'
          ? []
          : [
              {
                instance: `deployment/${name}`,
                change: INSTANCE_CHANGE[action],
                why: why[action],
              },
            ],
      drift: kubernetesDriftOf(name, before, running),
      config: configChanges(before, target),
      ...(migrations && { migrations }),
    };
  });
}

/** Differences between a service's recorded spec and its Deployment. */
export function kubernetesDriftOf(
  service: string,
  recorded: ServiceSpec | null,
  running: DeploymentObservation | undefined,
): string[] {
  if (!recorded) return running ? [`deployment ${running.name}: not in the current revision`] : [];
  if (!running) return [`deployment of ${service}: missing`];
  const drift: string[] = [];
  if (running.specHash !== kubernetesSpecHash(recorded))
    drift.push(`deployment ${running.name}: runs ${running.runningVersion ?? '-'}, differs from the record`);
  if (running.rollout.failed)
    drift.push(`deployment ${running.name}: rollout failed: ${running.rollout.failed}`);
  else if (!running.rollout.done)
    drift.push(`deployment ${running.name}: rollout not complete (${running.rollout.summary})`);
  return drift;
}
