// Fast checks of the Kubernetes objects a service becomes and of how a rollout's status is read
// (in addition to test/runtime/kubernetes.it.test.ts, which runs them against a real API server).
import type * as K8s from '@kubernetes/client-node';
import { deploymentFor, isFreshFailure, rolloutStatus } from '../../src/runtime/kubernetes';
import { validateRecord } from '../../src/record/validate';
import { Service } from '../../src/record/schema';

const service = Service.parse({
  name: 'keystone',
  image: 'patchbay/keystone:22.0.2-0-deb12u6',
  replicas: 3,
  port: 5000,
  env: { KEYSTONE_PORT: '{{port}}' },
  secretEnv: { DB_PASSWORD: 'env:KS_DB' },
  health: { http: { path: '/v3' }, timeout: '90s', interval: '2s' },
  upgrade: { maxUnavailable: 1, maxSurge: 0, bake: '5s' },
});

test('a service becomes a Deployment: replicas, rolling policy, deadline, readiness, secrets by reference', () => {
  const d = deploymentFor('east', service, 7, { previous: null, secretKeys: ['DB_PASSWORD'] });
  expect(d.metadata?.name).toBe('pb-east-keystone');
  expect(d.metadata?.labels).toMatchObject({ 'io.patchbay.cloud': 'east', 'io.patchbay.revision': '7' });
  expect(d.spec).toMatchObject({
    replicas: 3,
    progressDeadlineSeconds: 90,
    minReadySeconds: 5,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
  });
  const container = d.spec!.template.spec!.containers[0]!;
  expect(container.readinessProbe).toEqual({ httpGet: { path: '/v3', port: 5000 }, periodSeconds: 2 });
  expect(container.env).toEqual([
    { name: 'KEYSTONE_PORT', value: '5000' },
    {
      name: 'DB_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'pb-east-keystone-secrets', key: 'DB_PASSWORD' } },
    },
  ]);
});

const deployment = (status: K8s.V1DeploymentStatus, generation = 2): K8s.V1Deployment => ({
  metadata: { generation },
  spec: { replicas: 3, selector: {}, template: {} },
  status,
});

test('a rollout is done only when the new generation is observed and every replica is updated and available', () => {
  expect(
    rolloutStatus(
      deployment({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }),
    ).done,
  ).toBe(false);
  expect(
    rolloutStatus(
      deployment({ observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 3 }),
    ).done,
  ).toBe(false);
  expect(
    rolloutStatus(
      deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }),
    ).done,
  ).toBe(true);
});

test("ProgressDeadlineExceeded is a failed rollout, with Kubernetes' message", () => {
  const s = rolloutStatus(
    deployment({
      observedGeneration: 2,
      replicas: 4,
      updatedReplicas: 1,
      availableReplicas: 2,
      unavailableReplicas: 2,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "x" has timed out progressing.',
        },
      ],
    }),
  );
  expect(s).toMatchObject({ done: false, failed: 'ReplicaSet "x" has timed out progressing.' });
});

test('a ProgressDeadlineExceeded left by an earlier rollout does not fail the wait of the restore after it', () => {
  // The controller keeps the bad rollout's condition until the restored Deployment makes progress;
  // the restore's wait must not read it as its own failure (CI once waited for an operator on it).
  const timedOut = (at: string) =>
    rolloutStatus(
      deployment(
        {
          observedGeneration: 3,
          replicas: 3,
          updatedReplicas: 2,
          availableReplicas: 2,
          conditions: [
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              lastUpdateTime: new Date(at),
              message: 'ReplicaSet "bad" has timed out progressing.',
            },
          ],
        },
        3,
      ),
    );
  const first = timedOut('2026-12-04T10:00:00Z');
  expect(first.failedSince).toBe('2026-12-04T10:00:00.000Z');
  expect(isFreshFailure(first, first.failedSince)).toBe(false); // there when the wait began
  expect(isFreshFailure(timedOut('2026-12-04T10:00:30Z'), first.failedSince)).toBe(true); // written since
  expect(isFreshFailure(first, null)).toBe(true); // nothing was failed when the wait began
  const healthy = rolloutStatus(deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 3 }));
  expect([healthy.failed, healthy.failedSince, isFreshFailure(healthy, null)]).toEqual([null, null, false]);
});

test('a Kubernetes record gives replicas and port, not instances, volumes or HAProxy; a Docker one the reverse', () => {
  const base = {
    apiVersion: 'patchbay/v1',
    kind: 'Cloud',
    metadata: { name: 'k' },
    spec: { runtime: { kubernetes: { namespace: 'openstack' } }, services: [] as unknown[] },
  };
  const result = validateRecord({
    ...base,
    spec: {
      ...base.spec,
      services: [
        {
          name: 'a',
          image: 'x:1',
          instances: [{ host: 'h', port: 1 }],
          health: { http: {} },
          volumes: [{ source: '/a', target: '/b' }],
        },
      ],
    },
  });
  expect(result.ok).toBe(false);
  const messages = result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`);
  expect(messages).toEqual([
    expect.stringMatching(/^spec.services\[0\].instances\[0\].host: unknown host "h"/),
    expect.stringMatching(/^spec.services\[0\].instances: a Kubernetes service lists no instances/),
    expect.stringMatching(/^spec.services\[0\].replicas: missing required field "replicas"/),
    expect.stringMatching(/^spec.services\[0\].port: missing required field "port"/),
    expect.stringMatching(/^spec.services\[0\].volumes: volumes are for Docker hosts/),
  ]);
  const both = validateRecord({
    ...base,
    spec: {
      runtime: { kubernetes: { namespace: 'o' }, docker: { hosts: [{ name: 'h' }] } },
      services: [{ name: 'a', image: 'x:1', replicas: 1, port: 1, health: { http: {} } }],
    },
  });
  expect(both.ok ? [] : both.issues.map((i) => i.message)).toEqual([
    'give either docker.hosts (at least one) or kubernetes, not both',
  ]);
  const docker = validateRecord({
    ...base,
    spec: {
      runtime: { docker: { hosts: [{ name: 'h' }] } },
      services: [{ name: 'a', image: 'x:1', replicas: 2, health: { http: {} } }],
    },
  });
  expect(docker.ok ? [] : docker.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
    expect.stringMatching(/^spec.services\[0\].instances: a Docker service needs at least one instance/),
    expect.stringMatching(/^spec.services\[0\].replicas: replicas and port are for a Kubernetes runtime/),
  ]);
});
