// Every one-off job a service declares: its before/after jobs and the phases of its migrations, with
// where each sits in the record. The rules jobs obey (placeholders, hosts, secret-looking env) apply
// to both alike; validate.ts walks this list instead of each kind separately.
import type { JobSpec, MigrationStepSpec, ServiceSpec } from './schema';

export const MIGRATION_PHASES = ['check', 'snapshot', 'expand', 'migrate', 'contract'] as const;
/** The jobs of a service's migrations; restore and rows run in the snapshot's container settings. */
export type MigrationPhase = (typeof MIGRATION_PHASES)[number] | 'restore' | 'rows';

export interface OneOffJob {
  /** How messages name it: `job "db-sync"`, `migrations.expand`. */
  label: string;
  /** Its path under the service, e.g. ['jobs', 'before', 0] or ['migrations', 'expand']. */
  path: Array<string | number>;
  job: JobSpec | MigrationStepSpec;
}

export function oneOffJobs(service: ServiceSpec): OneOffJob[] {
  const jobs: OneOffJob[] = [];
  for (const phase of ['before', 'after'] as const)
    service.jobs[phase].forEach((job, j) =>
      jobs.push({ label: `job "${job.name}"`, path: ['jobs', phase, j], job }),
    );
  for (const phase of MIGRATION_PHASES) {
    const step = service.migrations?.[phase];
    if (step) jobs.push({ label: `migrations.${phase}`, path: ['migrations', phase], job: step });
  }
  return jobs;
}
