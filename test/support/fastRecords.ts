// Records for the fast workflow tests: fixture-like services on fake hosts (nothing listens on them;
// the scripted runtime answers for them).
import {
  CloudRecordSchema,
  type CloudRecord,
  type CloudRecordInput,
  type ServiceSpec,
} from '../../src/record/schema';

export interface FastService {
  image: string;
  /** Ports on host ctl1 (one instance each). */
  ports: number[];
  dependsOn?: string[];
  bake?: string;
  maxUnavailable?: number;
  onFailure?: 'rollback' | 'pause';
  env?: Record<string, string>;
  /** The service's migrations, as a record would give them. */
  migrations?: NonNullable<CloudRecordInput['spec']['services'][number]['migrations']>;
}

export function fastRecordInput(cloud: string, services: Record<string, FastService>): CloudRecordInput {
  return {
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: cloud, labels: { purpose: 'fast-test' } },
    spec: {
      runtime: {
        docker: { hosts: [{ name: 'ctl1', endpoint: 'unix:///run/patchbay-fast/ctl1/docker.sock' }] },
      },
      services: Object.entries(services).map(([name, s]) => ({
        name,
        image: s.image,
        dependsOn: s.dependsOn ?? [],
        instances: s.ports.map((port) => ({ host: 'ctl1', port })),
        env: { PORT: '{{port}}', ...s.env },
        health: { http: { path: '/health' }, timeout: '2m', interval: '1s' },
        upgrade: {
          maxUnavailable: s.maxUnavailable ?? 1,
          bake: s.bake ?? '0s',
          onFailure: s.onFailure ?? 'rollback',
        },
        stopGracePeriod: '10s',
        ...(s.migrations && { migrations: s.migrations }),
      })),
    },
  };
}

/** The normalised record (durations in ms, defaults filled), as workflows receive it. */
export function fastRecord(cloud: string, services: Record<string, FastService>): CloudRecord {
  return CloudRecordSchema.parse(fastRecordInput(cloud, services));
}

export function serviceOf(record: CloudRecord, name: string): ServiceSpec {
  const found = record.spec.services.find((s) => s.name === name);
  if (!found) throw new Error(`no service ${name}`);
  return found;
}
