// Unit tests of the plan (and of classify, which the workflow uses to decide the same thing).
import type { ServiceObservation } from '../../src/activities/types';
import { computePlan } from '../../src/client/plan';
import { renderPlan } from '../../src/client/render';
import type { KubernetesObservation } from '../../src/client/observeDeployments';
import { imageVersion, instanceSpecHash, kubernetesSpecHash } from '../../src/record/identity';
import { CloudRecordSchema, type CloudRecord } from '../../src/record/schema';

function record(
  services: Record<string, { image: string; ports: number[]; env?: Record<string, string> }>,
): CloudRecord {
  return CloudRecordSchema.parse({
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: 'lab' },
    spec: {
      runtime: { docker: { hosts: [{ name: 'h1' }] } },
      services: Object.entries(services).map(([name, s]) => ({
        name,
        image: s.image,
        instances: s.ports.map((port) => ({ host: 'h1', port })),
        env: s.env ?? {},
        health: { http: { path: '/health' } },
      })),
    },
  });
}

/** What runs when a record was applied faithfully. */
function running(
  r: CloudRecord,
  tweak: (service: string, instance: string, o: ServiceObservation) => void = () => undefined,
) {
  const observed = new Map<string, ServiceObservation>();
  for (const s of r.spec.services) {
    const o: ServiceObservation = { active: {}, retired: [] };
    for (const i of s.instances) {
      const id = `${i.host}-${i.port}`;
      o.active[id] = {
        instance: id,
        containerId: `c-${s.name}-${id}`,
        name: `pb-lab-${s.name}-${id}`,
        running: true,
        specHash: instanceSpecHash(s, i),
        revision: 1,
        version: s.image.split(':')[1] as string,
      };
      tweak(s.name, id, o);
    }
    observed.set(s.name, o);
  }
  return observed;
}

const v1 = record({ db: { image: 'x/db:1', ports: [1] }, api: { image: 'x/api:1', ports: [2, 3] } });

test('a new cloud: every service is created', () => {
  const plan = computePlan(v1, null, new Map());
  expect(plan.map((s) => `${s.service}:${s.action}`)).toEqual(['db:create', 'api:create']);
  expect(plan[1]?.instances.map((i) => i.change)).toEqual(['create', 'create']);
});

test('an identical record on a faithful cloud: nothing to do', () => {
  const plan = computePlan(v1, v1, running(v1));
  expect(
    plan.every((s) => s.action === 'unchanged' && s.instances.length === 0 && s.drift.length === 0),
  ).toBe(true);
});

test('a new image for one service: patch from -> to, the others unchanged', () => {
  const v2 = record({ db: { image: 'x/db:1', ports: [1] }, api: { image: 'x/api:2', ports: [2, 3] } });
  const plan = computePlan(v2, v1, running(v1));
  expect(plan.map((s) => `${s.service}:${s.action}`)).toEqual(['db:unchanged', 'api:patch']);
  expect(plan[1]).toMatchObject({ fromVersion: '1', toVersion: '2' });
  expect(plan[1]?.instances.map((i) => `${i.instance} ${i.change} ${i.why}`)).toEqual([
    'h1-2 replace 1 -> 2',
    'h1-3 replace 1 -> 2',
  ]);
});

test('a changed setting is an update, not a patch', () => {
  const changed = record({
    db: { image: 'x/db:1', ports: [1], env: { A: 'b' } },
    api: { image: 'x/api:1', ports: [2, 3] },
  });
  expect(computePlan(changed, v1, running(v1))[0]?.action).toBe('update');
});

test('drift: a stopped or missing container is repaired and reported', () => {
  const observed = running(v1, (service, id, o) => {
    if (service === 'api' && id === 'h1-2') (o.active[id] as { running: boolean }).running = false;
    if (service === 'api' && id === 'h1-3') delete o.active[id];
  });
  const plan = computePlan(v1, v1, observed);
  expect(plan[1]?.action).toBe('repair');
  expect(plan[1]?.instances.map((i) => `${i.instance} ${i.change} ${i.why}`)).toEqual([
    'h1-2 repair container not running',
    'h1-3 repair container missing',
  ]);
  expect(plan[1]?.drift).toEqual(['h1-2: container not running', 'h1-3: container missing']);
});

test('scale down and removed services', () => {
  const smaller = record({ api: { image: 'x/api:1', ports: [2] } });
  const plan = computePlan(smaller, v1, running(v1));
  expect(plan.map((s) => `${s.service}:${s.action}`)).toEqual(['api:update', 'db:remove']);
  expect(plan[0]?.instances).toEqual([{ instance: 'h1-3', change: 'remove', why: 'not in the record' }]);
});

test('migrations: a new image shows the phases in order and whether a rollback would need the database restored', () => {
  const withMigrations = (image: string, contract: boolean): CloudRecord => {
    const r = record({ db: { image: 'x/db:1', ports: [1] }, api: { image, ports: [2, 3] } });
    const api = r.spec.services[1]!;
    api.dependsOn = ['db'];
    const job = (phase: string) => ({ command: ['manage', phase], env: {}, secretEnv: {}, timeout: 60_000 });
    api.migrations = {
      database: { service: 'db', name: 'api' },
      check: job('check'),
      expand: job('expand'),
      ...(contract ? { contract: { ...job('contract'), approval: 'manual' as const } } : {}),
    };
    return r;
  };
  const current = withMigrations('x/api:1', true);
  const patch = computePlan(withMigrations('x/api:2', true), current, running(current))[1];
  expect(patch?.migrations).toEqual({
    database: 'db/api',
    phases: ['check', 'expand', 'rolling replace', 'contract (approval: manual)', 'check'],
    rollbackNeedsRestore: true,
  });
  expect(renderPlan('lab', 1, [patch!])).toContain(
    'migrate  db/api: check -> expand -> rolling replace -> contract (approval: manual) -> check',
  );
  expect(renderPlan('lab', 1, [patch!])).toContain('refused unless --restore-database (no snapshot is taken');
  // With a snapshot: taken after check, before expand; the rollback would bring it back.
  const snapped = withMigrations('x/api:2', true);
  snapped.spec.services[1]!.migrations!.snapshot = {
    command: ['dump'],
    env: {},
    secretEnv: {},
    timeout: 60_000,
    directory: '/srv/snapshots',
    keep: 3,
    restore: { command: ['load'] },
  };
  const withSnapshot = computePlan(snapped, current, running(current))[1]!;
  expect(withSnapshot.migrations?.phases.slice(0, 3)).toEqual(['check', 'snapshot (keep 3)', 'expand']);
  expect(renderPlan('lab', 1, [withSnapshot])).toContain('the snapshot taken before expand comes back');
  // Without a contract the old code keeps running on the expanded schema: the image alone goes back.
  const expandOnly = computePlan(withMigrations('x/api:2', false), current, running(current))[1];
  expect(expandOnly?.migrations).toMatchObject({
    phases: ['check', 'expand', 'rolling replace'],
    rollbackNeedsRestore: false,
  });
  // Settings alone run no migration.
  const settings = withMigrations('x/api:1', true);
  settings.spec.services[1]!.env = { LOG: 'debug' };
  expect(computePlan(settings, current, running(current))[1]).toMatchObject({ action: 'update' });
  expect(computePlan(settings, current, running(current))[1]?.migrations).toBeUndefined();
});

describe('a Kubernetes cloud: one Deployment per service, decided from what runs there', () => {
  const k8s = (keystone: string, replicas = 3): CloudRecord =>
    CloudRecordSchema.parse({
      apiVersion: 'patchbay/v1',
      kind: 'Cloud',
      metadata: { name: 'k' },
      spec: {
        runtime: { kubernetes: { namespace: 'openstack' } },
        services: [
          { name: 'keystone', image: keystone, replicas, port: 5000, health: { http: { path: '/v3' } } },
          { name: 'glance', image: 'g:1', replicas: 2, port: 9292, health: { http: {} } },
        ],
      },
    });
  /** The Deployments a record's services became, their rollouts complete (or not, per service). */
  const deployed = (r: CloudRecord, incomplete: string[] = []): KubernetesObservation =>
    new Map(
      r.spec.services.map((s) => {
        const done = !incomplete.includes(s.name);
        const n = s.replicas ?? 1;
        return [
          s.name,
          {
            name: `pb-k-${s.name}`,
            exists: true,
            specHash: kubernetesSpecHash(s),
            image: s.image,
            done,
            revision: 1,
            runningVersion: imageVersion(s.image),
            rollout: {
              generation: 2,
              observedGeneration: 2,
              replicas: n,
              updated: n,
              ready: done ? n : n - 1,
              available: done ? n : n - 1,
              unavailable: done ? 0 : 1,
              failed: null,
              failedSince: null,
              done,
              summary: `${n}/${n} updated, ${done ? n : n - 1} available`,
            },
          },
        ];
      }),
    );

  test('a new image is a patch of that Deployment only; nothing else changes', () => {
    const plan = computePlan(k8s('ks:2'), k8s('ks:1'), new Map(), deployed(k8s('ks:1')));
    expect(plan.map((s) => [s.service, s.action, s.fromVersion, s.toVersion, s.drift])).toEqual([
      ['keystone', 'patch', '1', '2', []],
      ['glance', 'unchanged', '1', '1', []],
    ]);
    expect(plan[0]!.instances).toEqual([
      {
        instance: 'deployment/keystone',
        change: 'replace',
        why: expect.stringMatching(/rolling update by Kubernetes/),
      },
    ]);
  });

  test('a new replica count is an update; a first apply creates every Deployment', () => {
    expect(computePlan(k8s('ks:1', 5), k8s('ks:1'), new Map(), deployed(k8s('ks:1')))[0]!.action).toBe(
      'update',
    );
    expect(computePlan(k8s('ks:1'), null, new Map()).map((s) => s.action)).toEqual(['create', 'create']);
  });

  test('a recorded Deployment that is gone is drift, and apply would create it again', () => {
    const running = deployed(k8s('ks:1'));
    running.delete('glance');
    const plan = computePlan(k8s('ks:1'), k8s('ks:1'), new Map(), running);
    expect(plan.map((s) => [s.service, s.action, s.drift])).toEqual([
      ['keystone', 'unchanged', []],
      ['glance', 'create', ['deployment of glance: missing']],
    ]);
    expect(plan[1]!.instances[0]).toMatchObject({ change: 'create', why: /recorded one is missing/ });
  });

  test('a rollout that has not completed is repaired; a Deployment edited by hand differs from the record', () => {
    const incomplete = computePlan(k8s('ks:1'), k8s('ks:1'), new Map(), deployed(k8s('ks:1'), ['keystone']));
    expect(incomplete[0]).toMatchObject({
      action: 'repair',
      drift: [expect.stringMatching(/pb-k-keystone: rollout not complete/)],
    });
    const edited = deployed(k8s('ks:1'));
    edited.set('keystone', { ...edited.get('keystone')!, specHash: 'by-hand', runningVersion: 'hotfix' });
    const plan = computePlan(k8s('ks:1'), k8s('ks:1'), new Map(), edited);
    expect(plan[0]).toMatchObject({
      action: 'update',
      drift: ['deployment pb-k-keystone: runs hotfix, differs from the record'],
    });
  });
});
